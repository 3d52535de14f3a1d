"""Every reference label file of a run read once before the run starts: a broken one is named at once, not after
the cases before it were segmented and scored (whose scores the error then lost)."""

from rich.progress import track

from causal_sam_llm.datasets.case import Case


def check_reference_labels(domains: dict[str, list[Case]], progress: bool = True) -> None:
    """Raise what reading the first broken label file raises; nothing read is kept in memory."""
    cases = [case for cases in domains.values() for case in cases if case.has_labels]
    for case in track(cases, description="checking reference labels", disable=not progress, transient=True):
        case.check_labels()

"""Whether an evaluation's cases include anatomies a checkpoint was trained on.

A protocol keeps its test anatomies out of its own training split, but only for the folders one command resolves.
A checkpoint evaluated with other folders than it was trained with (`--set benchmark=DIR`: a smaller benchmark of the
same seed holds the same phantoms under the same case numbers) may be scored on its own training cases. Its training
cases are resolved again from what it stored (protocol, `--set` variables, case limit) and compared by anatomy."""

from pathlib import Path

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.protocol import default_benchmark_dir, load_protocol
from causal_sam_llm.errors import DataLayoutError
from causal_sam_llm.segmentation.checkpoint_io import read_checkpoint


def training_cases(meta: dict, overrides: dict[str, str] | None = None) -> list[Case]:
    """The cases a checkpoint's segmenter was trained on (its stored protocol, benchmark folder, variables and case
    limit), unless `overrides` (--set NAME=PATH) say otherwise."""
    trained_on = meta["config"]
    variables = {**trained_folders(meta), **(overrides or {})}
    cases = load_protocol(meta["protocol"]).case_list("train", variables)
    return cases[: trained_on["max_cases"]] if trained_on.get("max_cases") else cases


def trained_folders(meta: dict) -> dict[str, str]:
    """The protocol variables the checkpoint was trained with: its `--set` ones, and the benchmark folder it read
    (recorded since 2026-12-07: an environment variable may have chosen it; older checkpoints read today's)."""
    recorded = {"benchmark": meta["benchmark"]} if meta.get("benchmark") else {}
    return {**recorded, **(meta["config"].get("variables") or {})}


def _same_folders(trained: dict[str, str], overrides: dict[str, str]) -> bool:
    """Whether an evaluation given `overrides` reads the folders the training read."""
    now = {"benchmark": str(default_benchmark_dir()), **overrides}
    then = {"benchmark": str(default_benchmark_dir()), **trained}
    return {k: Path(v).expanduser().resolve() for k, v in now.items()} == {
        k: Path(v).expanduser().resolve() for k, v in then.items()
    }


def trained_anatomy_warning(checkpoint: Path, domains: dict[str, list[Case]], overrides: dict[str, str]) -> str | None:
    """A warning naming the evaluated cases whose anatomy the checkpoint was trained on, when the evaluation reads
    other folders than its training did (with the same ones the protocol's split already keeps them apart); None
    when there are none, or when its training folders are gone and nothing can be compared (said so)."""
    meta = read_checkpoint(checkpoint)
    if _same_folders(trained_folders(meta), overrides):
        return None
    try:
        trained = {case.anatomy_key for case in training_cases(meta)}
    except DataLayoutError as error:
        return f"warning: could not check which anatomies {checkpoint} was trained on ({error})."
    shared = [case.case_id for cases in domains.values() for case in cases if case.anatomy_key in trained]
    if not shared:
        return None
    listed = ", ".join(shared[:5]) + (f" and {len(shared) - 5} more" if len(shared) > 5 else "")
    return (
        f"warning: {len(shared)} evaluated case(s) share an anatomy with the cases {checkpoint} was trained on "
        f"({listed}): the folders read here are not those it was trained with, and a benchmark of the same seed "
        "holds the same phantoms under the same case numbers. Their scores are not out of distribution."
    )

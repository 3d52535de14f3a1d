"""Mask versions a killed process kept but did not log. A turn writes its version (and history.json) before its
audit line, so a process killed in between leaves a version no line names. On resume each such version gets a line
of its own, marked recovered and left out of the conversation the LLM sees (no one said anything in it), so that the
log names every version the masks hold."""

from causal_sam_llm.agent.audit_log import TurnRecord
from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall
from causal_sam_llm.tools.mask_history import MaskHistory, MaskVersion

RECOVERED = "recovered"  # the key a recovered line's result holds


def unlogged_versions(records: list[TurnRecord], history: MaskHistory | None) -> list[MaskVersion]:
    """Versions of the current study's history newer than every version logged since it was loaded (versions are
    numbered in the order they were made, and a new study starts a history of its own)."""
    if history is None:
        return []
    loads = [i for i, record in enumerate(records) if record.call.tool == "load_study" and record.ok]
    since_load = records[loads[-1] + 1 :] if loads else records
    newest = max((r.version for r in since_load if r.version is not None), default=-1)
    return [version for version in history.versions if version.number > newest]


def recovered_record(version: MaskVersion) -> TurnRecord:
    return TurnRecord(
        text="",
        call=ParsedCall(tool=CLARIFY, args={"question": ""}),
        ok=True,
        reply=f"Recovered on resume: version {version.number} ({version.note}) was kept, but the process stopped "
        "before its turn was logged.",
        result={RECOVERED: True, "note": version.note},
        version=version.number,
    )


def is_recovered(record: TurnRecord) -> bool:
    return bool(record.result.get(RECOVERED))

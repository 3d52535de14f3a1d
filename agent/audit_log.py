"""The append-only audit log of a session: one JSON line per turn (time, text, the model's answer, the call that ran,
result, timings), flushed and fsynced before the turn is reported, so a killed process loses nothing it already
answered."""

import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from causal_sam_llm.agent.call_schema import ParsedCall


class TurnRecord(BaseModel):
    time: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    text: str
    call: ParsedCall
    answer: dict | None = None  # the model's own answer before validation and the guard rails (None: not asked)
    ok: bool
    reply: str
    result: dict = Field(default_factory=dict)
    version: int | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: TurnRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a line cut off by a crash has no newline: end it first, or this record would be glued onto it and lost too
        cut_off = self.path.is_file() and self.path.stat().st_size > 0 and not self._ends_with_newline()
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(("\n" if cut_off else "") + record.model_dump_json() + "\n")
            stream.flush()
            os.fsync(stream.fileno())

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as stream:
            stream.seek(-1, os.SEEK_END)
            return stream.read(1) == b"\n"

    def records(self) -> list[TurnRecord]:
        """Every complete line; a line cut off by a crash mid-write is skipped."""
        if not self.path.is_file():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(TurnRecord.model_validate_json(line))
            except ValueError:
                continue
        return records

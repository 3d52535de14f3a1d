"""`MaskHistory`: every mask version of a study, kept on disk in the session folder, with undo and redo.

A version is the (Z, C, rows, cols) organ probabilities on the axial grid (float16 .npy, written atomically) plus
what produced it. Undo/redo only move a pointer; a new version after an undo drops nothing: the redo branch stays on
disk and in `versions`, and `go_to(number)` returns to any version (undo/redo walk the current branch, any number of
steps at once; the agent has all three)."""

import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class MaskVersion:
    number: int
    note: str  # e.g. "segment all", "expand liver superior 0.5", "undo"
    parent: int | None
    file: str


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class MaskHistory:
    """Versions in `folder` (one .npy each + history.json). `current` is None before the first segmentation."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.versions: list[MaskVersion] = []
        self.current: int | None = None
        self._redo: list[int] = []
        self._loaded: tuple[int, np.ndarray] | None = None  # the last version read, so redraws do not re-read it
        index = folder / "history.json"
        if index.is_file():
            saved = json.loads(index.read_text())
            self.versions = [MaskVersion(**v) for v in saved["versions"]]
            self.current, self._redo = saved["current"], saved["redo"]

    def add(self, probabilities: np.ndarray, note: str) -> MaskVersion:
        number = len(self.versions)
        version = MaskVersion(number, note, self.current, f"v{number:04d}.npy")
        stored = probabilities.astype(np.float16)
        write_atomically(self.folder / version.file, _npy_bytes(stored))
        self._keep_loaded(number, stored)  # what reading the file back would give, without reading it
        self.versions.append(version)
        self.current, self._redo = number, []
        self._save()
        return version

    def probabilities(self, number: int | None = None) -> np.ndarray:
        """A version's probabilities, float32 and read-only (shared, not copied: 500 MB on a 512² study of 120
        slices; a version never changes): copy them to make a new one."""
        number = self.current if number is None else number
        if number is None:
            raise LookupError("no mask yet: segment the study first.")
        if self._loaded is None or self._loaded[0] != number:
            self._keep_loaded(number, np.load(self.folder / self.versions[number].file))
        return self._loaded[1]

    def _keep_loaded(self, number: int, stored: np.ndarray) -> None:
        loaded = stored.astype(np.float32)
        loaded.flags.writeable = False
        self._loaded = (number, loaded)

    def undo(self, steps: int = 1) -> MaskVersion:
        """Walk `steps` versions back along the current branch; all or nothing."""
        stepped_over = self._versions_to_undo(steps)
        self._redo.extend(stepped_over)
        self.current = self.versions[stepped_over[-1]].parent
        self._save()
        return self.versions[self.current]

    def redo(self, steps: int = 1) -> MaskVersion:
        """Walk `steps` undone versions forward again; all or nothing."""
        if not self._redo:
            raise LookupError("nothing to redo.")
        if len(self._redo) < steps:
            raise LookupError(f"only {len(self._redo)} undone version(s) to redo; nothing was redone.")
        for _ in range(steps):
            self.current = self._redo.pop()
        self._save()
        return self.versions[self.current]

    def _versions_to_undo(self, steps: int) -> list[int]:
        """The current version and its parents back along the branch, `steps` of them; an error before any change
        when the branch is shorter."""
        walked, number = [], self.current
        while number is not None and self.versions[number].parent is not None and len(walked) < steps:
            walked.append(number)
            number = self.versions[number].parent
        if not walked:
            raise LookupError("nothing to undo: this is the first mask version.")
        if len(walked) < steps:
            raise LookupError(f"only {len(walked)} change(s) to undo on this branch; nothing was undone.")
        return walked

    def go_to(self, number: int) -> MaskVersion:
        """Make any kept version the current one (e.g. one on a branch a later edit left); undo then walks back
        along its own parents."""
        if not 0 <= number < len(self.versions):
            raise LookupError(f"no mask version {number}: versions are 0 to {len(self.versions) - 1}.")
        if number != self.current:
            self.current, self._redo = number, []
            self._save()
        return self.versions[number]

    def _save(self) -> None:
        state = {"versions": [asdict(v) for v in self.versions], "current": self.current, "redo": self._redo}
        write_atomically(self.folder / "history.json", json.dumps(state, indent=1).encode())


def _npy_bytes(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array)
    return stream.getvalue()

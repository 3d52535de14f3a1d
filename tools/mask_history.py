"""`MaskHistory`: every mask version of a study, kept on disk in the session folder, with undo and redo.

A version is the (Z, C, rows, cols) organ probabilities on the axial grid, float16, written atomically, plus what
produced it: the first in full (.npy), the others as what changed from their parent (.patch.npz, mask_patch.py),
since a correction changes one organ near its boundary. So that reading a version back never applies more than
PATCH_CHAIN patches, a version whose parent lies that deep is written as what changed from the full version the chain
starts from instead (its `base`: every value inside the boxes the chain's patches and its own change hold). Before,
such a version was written in full: on a 512² study of 100 slices every ninth correction wrote 210 MB, 4.6 s of
its 5.6 s (a throw-away run of the tool; 1.4 s now). Undo/redo only
move a pointer; a new version after an undo drops nothing: the redo branch stays on disk and in `versions`, and
`go_to(number)` returns to any version (undo/redo walk the current branch, any number of steps at once; the agent
has all three)."""

import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from causal_sam_llm.paths import as_ordinary_file
from causal_sam_llm.tools.mask_patch import Box, applied_patch, changed_box, enclosing_box, patch_box, patch_bytes

PATCH_SUFFIX = ".patch.npz"


@dataclass(frozen=True)
class MaskVersion:
    number: int
    note: str  # e.g. "segment all slices 0-99", "expand liver superior 0.5"
    parent: int | None
    file: str
    edited: tuple[str, ...] = ()  # organs whose masks a clinician's correction changed in this version
    segmented: tuple[str, ...] = ()  # organs segmented afresh on every slice here (automatic again)
    base: int | None = None  # a patch's version it applies to, when not its parent (a full version)
    box: tuple[tuple[int, int], ...] | None = None  # a patch's (start, stop) per axis; None: empty, or not recorded

    @classmethod
    def from_json(cls, saved: dict) -> "MaskVersion":
        """As `history.json` keeps it (sessions from before `edited`/`segmented`, `base`/`box` have none)."""
        lists = {key: tuple(saved[key]) for key in ("edited", "segmented") if key in saved}
        if saved.get("box") is not None:
            lists["box"] = tuple(tuple(span) for span in saved["box"])
        return cls(**{**saved, **lists})

    @property
    def patch_base(self) -> int | None:
        """The version this one's patch is applied to (None for a full version)."""
        if not self.file.endswith(PATCH_SUFFIX):
            return None
        return self.parent if self.base is None else self.base


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        as_ordinary_file(handle)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# At most this many patches are stacked on a full version, so that reading any version back stays quick.
PATCH_CHAIN = 8
KEPT_IN_MEMORY = 2  # the current version and the one before: undo after a correction reads nothing


class MaskHistory:
    """Versions in `folder` (one file each + history.json). `current` is None before the first segmentation."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.versions: list[MaskVersion] = []
        self.current: int | None = None
        self._redo: list[int] = []
        self._kept: dict[int, np.ndarray] = {}  # versions read or written last, so redraws do not re-read them
        index = folder / "history.json"
        if index.is_file():
            saved = json.loads(index.read_text())
            self.versions = [MaskVersion.from_json(v) for v in saved["versions"]]
            self.current, self._redo = saved["current"], saved["redo"]

    def add(
        self,
        probabilities: np.ndarray,
        note: str,
        segmented: tuple[str, ...] = (),
        edited: tuple[str, ...] = (),
        changed: Box | None = None,
    ) -> MaskVersion:
        """A new version, child of the current one. `probabilities` (float32) becomes the kept version: rounded to
        float16 in place and made read-only, not copied (500 MB on a 512² study) — pass an array you are done with.
        Outside what a tool changed it should hold the current version's own values (a copy of `probabilities()`):
        its patch then holds only the change. `segmented`, `edited`: see MaskVersion (what exports report).
        `changed`: a box holding every value that differs from the current version, when the caller found it already
        (`changed_box`, which reads both versions whole); else it is found here."""
        if probabilities.dtype != np.float32:
            raise TypeError(f"mask versions are float32 probabilities, got {probabilities.dtype}.")
        number, parent = len(self.versions), self.current
        base, box = None, None
        if parent is None:
            file, stored = f"v{number:04d}.npy", probabilities.astype(np.float16)
            write_atomically(self.folder / file, npy_bytes(stored))
            probabilities[...] = stored
        else:
            on_parent = self.probabilities(parent)  # kept in memory: the current version
            box = changed or changed_box(on_parent, probabilities)
            if self._chain_length(parent) >= PATCH_CHAIN:
                (base, box), on_parent = self._rebased(parent, box), None  # that full version is not at hand
            file = self._write_patch(number, probabilities, box, on_parent)
        self._keep(number, probabilities)  # what reading the file back would give, without reading it
        spans = None if box is None else tuple((span.start, span.stop) for span in box)
        version = MaskVersion(number, note, parent, file, tuple(edited), tuple(segmented), base, spans)
        self.versions.append(version)
        self.current, self._redo = number, []
        self._save()
        return version

    def _rebased(self, parent: int, box: Box | None) -> tuple[int, Box | None]:
        """The full version `parent`'s chain starts from, and the box holding every value a child of `parent` that
        changed `box` differs from it in: the boxes of the chain's patches and `box` together."""
        boxes, number = [box], parent
        while (base := self.versions[number].patch_base) is not None:
            boxes.append(self._patch_box(number))
            number = base
        return number, enclosing_box([b for b in boxes if b is not None])

    def _patch_box(self, number: int) -> Box | None:
        """A patch's box, as recorded, or read from its file (sessions from before it was recorded)."""
        version = self.versions[number]
        if version.box is not None:
            return tuple(slice(start, stop) for start, stop in version.box)
        return patch_box(self.folder / version.file)

    def _write_patch(self, number: int, child: np.ndarray, box: Box | None, parent: np.ndarray | None = None) -> str:
        """Write `child`'s values inside `box` (float16-exact, as every kept version is; outside it `child` equals the
        version the patch applies to), leave `child` as a reader will get it back, and return the file's name. With
        that version's values (`parent`), only those that differ from them are written (mask_patch.py)."""
        values = child[box].astype(np.float16) if box is not None else np.zeros(0, np.float16)
        if box is not None:
            child[box] = values  # outside the box the child equals its parent exactly
        changed = None if parent is None or box is None else parent[box] != child[box]
        file = f"v{number:04d}{PATCH_SUFFIX}"
        write_atomically(self.folder / file, patch_bytes(box, values, changed))
        return file

    def _chain_length(self, number: int) -> int:
        """How many patches lie between version `number` and the full version it is read from."""
        length = 0
        while (base := self.versions[number].patch_base) is not None:
            length, number = length + 1, base
        return length

    def probabilities(self, number: int | None = None) -> np.ndarray:
        """A version's probabilities, float32 and read-only (shared, not copied: 500 MB on a 512² study of 120
        slices; a version never changes): copy them to make a new one."""
        number = self.current if number is None else number
        if number is None:
            raise LookupError("no mask yet: segment the study first.")
        if number not in self._kept:
            self._keep(number, self._read(number))
        return self._kept[number]

    def _read(self, number: int) -> np.ndarray:
        """A version from its file: a full one as stored, a patch on top of its parent (read back the same way,
        starting from a version in memory where the chain passes one)."""
        version = self.versions[number]
        if number in self._kept:
            return self._kept[number]
        if version.patch_base is None:
            return np.load(self.folder / version.file).astype(np.float32)
        return applied_patch(self._read(version.patch_base), self.folder / version.file)

    def _keep(self, number: int, probabilities: np.ndarray) -> None:
        probabilities.flags.writeable = False
        self._kept[number] = probabilities
        while len(self._kept) > KEPT_IN_MEMORY:
            del self._kept[next(iter(self._kept))]  # the oldest first

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

    def undone(self) -> list[MaskVersion]:
        """The versions redo would bring back, the next one first."""
        return [self.versions[number] for number in reversed(self._redo)]

    def mark_edited(self, number: int, organs: list[str]) -> None:
        """Record which organs' masks a correction changed, once its version is kept and its masks can be read (the
        organ it named is given to `add`, so that a crash in between cannot leave a corrected organ automatic)."""
        self.versions[number] = replace(self.versions[number], edited=tuple(organs))
        self._save()

    def lineage(self) -> list[MaskVersion]:
        """The versions that made the current one, the first segmentation first (an undone branch is not among
        them)."""
        steps, number = [], self.current
        while number is not None:
            steps.append(self.versions[number])
            number = self.versions[number].parent
        return steps[::-1]

    def _versions_to_undo(self, steps: int) -> list[int]:
        """The current version and its parents back along the branch, `steps` of them; an error before any change
        when the branch is shorter."""
        walked, number = [], self.current
        while number is not None and self.versions[number].parent is not None and len(walked) < steps:
            walked.append(number)
            number = self.versions[number].parent
        if not walked:
            later = len(self.versions) - 1
            kept = (
                f"; versions 1 to {later} are kept: 'go back to version {later}' returns to the last" if later else ""
            )
            raise LookupError(f"nothing to undo: this is the first mask version{kept}.")
        if len(walked) < steps:
            raise LookupError(f"only {len(walked)} change(s) to undo on this branch; nothing was undone.")
        return walked

    def go_to(self, number: int) -> MaskVersion:
        """Make any kept version the current one (e.g. one on a branch a later edit left); undo then walks back
        along its own parents."""
        if not 0 <= number < len(self.versions):
            raise LookupError(f"no mask version {number}: versions are 0 to {len(self.versions) - 1}.")
        if number != self.current:
            self._redo = self._redo_after_going_to(number)
            self.current = number
            self._save()
        return self.versions[number]

    def _redo_after_going_to(self, number: int) -> list[int]:
        """Going back along the current branch can be redone, as an undo of as many steps can (a redo after "go back
        to version 2" had said there was nothing to redo); going forward to an undone version leaves the ones after
        it to redo; going to another branch leaves the version left to redo, as the way back to it (a fifth trial's
        redo there had said there was nothing to redo)."""
        walked, step = [], self.current
        while step is not None and step != number:
            walked.append(step)
            step = self.versions[step].parent
        if step == number:
            return self._redo + walked
        if number in self._redo:
            return self._redo[: self._redo.index(number)]
        return [self.current]

    def _save(self) -> None:
        state = {"versions": [asdict(v) for v in self.versions], "current": self.current, "redo": self._redo}
        write_atomically(self.folder / "history.json", json.dumps(state, indent=1).encode())


def npy_bytes(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array)
    return stream.getvalue()


def rounded_as_kept(probabilities: np.ndarray, box: Box) -> None:
    """Round the values inside `box` in place as a kept version holds them (float16), so that what is decided from
    them before `MaskHistory.add` is what the version will show."""
    probabilities[box] = probabilities[box].astype(np.float16)

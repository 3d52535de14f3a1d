"""One process per session folder. Two processes writing one folder would each number their next mask version the
same and the later would overwrite the earlier's patch and history.json (a correction silently lost). A process
holds an advisory lock on `<folder>/.lock` from opening the folder until it exits; the operating system drops it when
the process ends, crash or not, so a crashed session can always be resumed. Within one process the folder may be
opened again (a resume, a chat on the Assistant that made it)."""

import fcntl
import os
from pathlib import Path
from typing import IO

from causal_sam_llm.errors import CausalSamError

LOCK_FILE = ".lock"
_held: dict[Path, IO[str]] = {}  # folder → the open lock file, kept open (closing it would release the lock)


class SessionInUseError(CausalSamError, RuntimeError):
    """Another process has the session folder open."""


class SessionFolderError(CausalSamError, OSError):
    """The session folder is a file, or cannot be created or written."""


def open_session_folder(folder: Path) -> None:
    """Create `folder` (and its parents) if needed, and lock it (`hold_session`); a path that is a file, or one that
    cannot be created, is named with the fix rather than the operating system's errno."""
    if folder.exists() and not folder.is_dir():
        raise SessionFolderError(
            f"{folder} is a file, not a session folder: give a folder (a new one is created there) or leave the "
            "session out for a new one."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        hold_session(folder)
    except (FileNotFoundError, NotADirectoryError, PermissionError, FileExistsError) as exc:
        reason = exc.strerror or type(exc).__name__
        raise SessionFolderError(
            f"cannot use {folder} as a session folder ({reason}: {exc.filename}); give a folder you can write to."
        ) from None


def hold_session(folder: Path) -> None:
    """Lock `folder` for this process, or raise SessionInUseError naming the process that holds it."""
    key = folder.resolve()
    if key in _held:
        return
    handle = (key / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise SessionInUseError(
            f"session folder {folder} is open in another process (pid {holder}); close it there, or open another "
            "folder."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _held[key] = handle


def release_unused_session(folder: Path) -> bool:
    """Give up a session folder that holds nothing but its lock — a start that failed, or was interrupted, before its
    first turn — so that failed starts leave no empty sessions behind: the lock is released and the folder removed.
    Only for a folder this process created (the caller knows). Returns whether it was removed."""
    key = folder.resolve()
    if not key.is_dir() or any(entry.name != LOCK_FILE for entry in key.iterdir()):
        return False
    handle = _held.pop(key, None)
    if handle is not None:
        handle.close()
    (key / LOCK_FILE).unlink(missing_ok=True)
    key.rmdir()
    return True

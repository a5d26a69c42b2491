"""Writing report files: atomic, all or none, private.

Each file goes to a temp file in its own directory (fsync), and only when every file of the set
was written are they renamed into place (then the directories are fsynced): a full disk, an
unwritable path or Ctrl-C leaves the old files or the new ones, never a cut one, and never some
reports of a run without the others. Ctrl-C during the renames is held back until they are done.

Reports are created with mode 0600. They carry the APDU trace, and a trace holds what the card
was sent: PINs in VERIFY and CHANGE PIN, replayable RELOAD PIN commands (their MAC has no try
counter and no challenge), the cardholder's data read from the card. Proving that one report
holds none of these is harder than keeping every report private; `chmod` it to share it.

Directories: the default report directory (reports/) is created when missing, with its
subdirectories; anywhere else the named file's directory must exist already. A path that exists
and is not a regular file (a directory, /dev/full, a FIFO) is refused: renaming over it would
replace a device node or hang on a pipe.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from simulator.storage import check_writable, write_temp  # the images' temp files: one kind to find

MODE = 0o600


class ReportError(OSError):
    """Some report could not be written; none of the set was (the message names which and why)."""


def write_text(path, text: str, create_under=None) -> Path:
    """One report file, atomically. Returns the path written."""
    return write_all([(path, text)], create_under)[0]


def write_all(outputs, create_under=None) -> list[Path]:
    """Write every (path, text or bytes) of `outputs`, or none of them. `create_under`: the one
    directory whose missing subdirectories may be created (the default reports/)."""
    targets = [(_target(path, create_under), data) for path, data in outputs]
    staged: list[tuple[str, Path]] = []
    failed: list[str] = []
    try:
        for target, data in targets:
            try:
                staged.append((_stage(target, data), target))
            except OSError as exc:
                failed.append(f"{target}: {exc.strerror or exc}")
        if failed:
            raise ReportError(_summary(failed, len(targets)))
        with _no_interrupt():
            done = []
            for temp, target in staged:
                try:
                    os.replace(temp, target)
                except OSError as exc:  # only if the target changed under us since the checks
                    raise ReportError(f"cannot write {target}: {exc.strerror or exc} "
                                      f"(written: {', '.join(map(str, done)) or 'none'})") from None
                done.append(target)
            staged = []
    finally:
        for temp, _ in staged:
            _remove(temp)
    for directory in {target.parent for target, _ in targets}:
        _fsync_dir(directory)
    return [target for target, _ in targets]


def _summary(failed: list[str], total: int) -> str:
    what = "no report was written" if total > 1 else "it was not written"
    return f"cannot write {'; '.join(failed)} ({what})"


def check(path, create_under=None) -> Path:
    """Whether `path` can be a report (ReportError if not), before a run spends time on it: its
    directory takes a temp file (which is removed at once)."""
    target = _target(path, create_under, make=False)
    if target.parent.is_dir():
        try:
            check_writable(target)
        except OSError as exc:
            raise ReportError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def _target(path, create_under, make: bool = True) -> Path:
    """The file to replace (a symlink is followed); its directory made or checked."""
    path = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    if path.exists() and not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise ReportError(f"cannot write {path}: it is {kind}")
    parent = path.parent
    if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"cannot write {path}: directory {parent} is not writable")
    if not parent.is_dir():
        if create_under is not None and _inside(parent, Path(create_under)) and not parent.exists():
            if not make:
                return path
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ReportError(f"cannot create {parent}: {exc.strerror or exc}") from None
        else:
            only = f" (only {create_under}/ is created)" if create_under is not None else ""
            raise ReportError(f"cannot write {path}: directory {parent} does not exist{only}")
    return path


def _inside(path: Path, root: Path) -> bool:
    path, root = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    return path == root or root in path.parents


def _stage(target: Path, data) -> str:
    """The data in a 0600 temp file beside `target`, on disk. Returns the temp file's name."""
    return write_temp(target, data.encode("utf-8") if isinstance(data, str) else bytes(data), MODE)


def _remove(name: str) -> None:
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the renames are done
    finally:
        os.close(fd)


@contextmanager
def _no_interrupt():
    """Hold Ctrl-C back while the temp files are renamed (the main thread only can do that)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    if caught:
        raise KeyboardInterrupt

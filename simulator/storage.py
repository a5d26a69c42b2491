"""Files the card lives in: atomic writes (a process killed at any instant leaves the old file or the
new one, never a torn one), their temp files found again after a kill, and one process at a time
per card image (an exclusive lock beside it)."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

TEMP_MARK = ".sscard-tmp-"  # in every temp file's name, so a killed save's leftovers can be found


def target(path) -> Path:
    """The file a path stands for: a symlinked image is written through its link (the link stays)."""
    return Path(os.path.realpath(path))


def atomic_write(path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to `path` through a temp file in the same folder: fsync, rename, fsync the folder.

    Files here hold keys, PINs or card sessions, so they are created with `mode` (0600) from the start.
    """
    path = target(path)
    tmp = write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        _drop(tmp)
        raise
    dirfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def write_temp(path: Path, data: bytes, mode: int = 0o600) -> str:
    """`data` in a temp file beside `path` (created with `mode`, on disk: fsynced), for the caller
    to rename over `path`. Returns the temp file's name; nothing is left behind if writing fails."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _drop(tmp)
        raise
    return tmp


def _drop(name: str) -> None:
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass


def temp_files(path) -> list[Path]:
    """Temp files that saves of `path` left behind (a process killed between write and rename)."""
    path = target(path)
    return sorted(path.parent.glob(f".{_glob_escape(path.name)}{TEMP_MARK}*.tmp"))


def check_writable(path) -> None:
    """Raise OSError when a save of `path` could not happen (its folder refuses a new file)."""
    path = target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)


class InUse(OSError):
    """Another holder has the image: `pid` the process that holds it (None if it did not say)."""

    def __init__(self, path: Path, pid: int | None, here: bool):
        who = "this process" if here else "another process"
        super().__init__(f"card image {path} is in use by {who}" + (f" (pid {pid})" if pid else ""))
        self.pid = pid


_HELD: dict[Path, "ImageLock"] = {}  # images this process holds, by target


class ImageLock:
    """An exclusive lock on a card image while a process serves or runs it: flock on `.NAME.lock`
    beside the image (the image itself is replaced by every save, so it cannot carry the lock).
    The lock file holds the holder's pid for the message the next one gets."""

    def __init__(self, path):
        self.image = target(path)
        self.lock_path = self.image.with_name(f".{self.image.name}.lock")
        self.fd: int | None = None

    def acquire(self) -> "ImageLock":
        """Take the lock or raise InUse; also removes the temp files of saves killed earlier."""
        if self.image in _HELD:
            raise InUse(self.image, os.getpid(), here=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise InUse(self.image, int(pid) if pid.isdigit() else None, here=False) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        _HELD[self.image] = self
        remove_temp_files(self.image)
        return self

    def release(self) -> None:
        if self.fd is not None:
            _HELD.pop(self.image, None)
            os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing drops the flock
            self.fd = None

    def __enter__(self) -> "ImageLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def remove_temp_files(path) -> list[Path]:
    """Remove what killed saves of `path` left, unless another process holds the image (its save may
    be under way). Returns the files removed."""
    path = target(path)
    found = temp_files(path)
    if not found or path in _HELD:
        return _unlink(found)
    try:
        fd = os.open(ImageLock(path).lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return _unlink(found)  # never locked: no holder is saving it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # held while removing: no holder starts meanwhile
    except BlockingIOError:
        return []
    else:
        return _unlink(found)
    finally:
        os.close(fd)


def _unlink(files: list[Path]) -> list[Path]:
    for f in files:
        try:
            f.unlink()
        except FileNotFoundError:
            pass
    return files


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)

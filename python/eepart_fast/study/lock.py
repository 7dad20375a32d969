"""One study at a time in a result folder: an exclusive OS lock on `_study.lock` inside it.

The lock is the operating system's (flock on POSIX, msvcrt.locking on Windows), held by the driver for the
whole run: the OS drops it when the driver ends in any way (Ctrl-C, a crash, SIGKILL), so a dead run never
leaves the folder locked and there is nothing stale to clean up. While held, the lock file names its holder
(study, fingerprint, pid, host, start time), which is what a refused run prints. The file stays in the
folder after the run (removing it could let two runs lock two different files); Parquet readers skip names
starting with `_`.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import socket
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: msvcrt.locking instead
    import msvcrt

    fcntl = None

LOCK_FILE = "_study.lock"


class StudyLocked(ValueError):
    """Another run holds the result folder (a ValueError: the command line says it in one line, exit 2).

    The message names the holder: its study, fingerprint, pid, host and start time.

    Examples
    --------
    >>> from eepart_fast.study import StudyLocked
    >>> issubclass(StudyLocked, ValueError)
    True
    """


# Filesystems that cannot lock at all (some FUSE and parallel filesystems mounted without locking): the run
# goes on unprotected, with a warning, rather than refusing every study there.
UNSUPPORTED = {errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


def _try_lock(fd: int) -> bool:
    if fcntl is None:  # Windows
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except (BlockingIOError, PermissionError):
        return False


def _holder(path: Path) -> str:
    try:
        d = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        d = {}
    if not isinstance(d, dict) or not d:
        return "another run"
    since = d.get("started")
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else "?"
    return (f"study {d.get('study', '?')!r} (fingerprint {d.get('fingerprint', '?')}), run by pid {d.get('pid', '?')} "
            f"on {d.get('host', '?')} since {since}")


class FolderLock:
    """`with FolderLock(out, study=..., fingerprint=...):` holds `out/_study.lock` or raises StudyLocked."""

    def __init__(self, folder, study: str = "", fingerprint: str = ""):
        self.path = Path(folder) / LOCK_FILE
        self.info = {"study": study, "fingerprint": fingerprint}
        self.fd = None

    def acquire(self) -> FolderLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            locked = _try_lock(fd)
        except OSError as exc:
            if exc.errno not in UNSUPPORTED:
                os.close(fd)
                raise
            logging.getLogger(__name__).warning(
                f"{self.path}: this filesystem cannot lock files ({exc.strerror}); the study runs without the "
                "guard against a second run on the same folder: start only one")
            self.fd = fd
            return self
        if not locked:
            os.close(fd)
            raise StudyLocked(f"out = {str(self.path.parent)!r} is in use: {_holder(self.path)} holds "
                              f"{self.path.name}; two studies cannot share a folder. Wait for that run to end (then "
                              "rerun this one: a different study there needs --overwrite), or choose another folder")
        self.fd = fd
        info = dict(self.info, pid=os.getpid(), host=socket.gethostname(), started=time.time())
        data = (json.dumps(info) + "\n").encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0) if hasattr(os, "pwrite") else (os.lseek(fd, 0, os.SEEK_SET), os.write(fd, data))
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.ftruncate(fd, 0)  # no holder named once it is free
        except OSError:
            pass
        os.close(fd)  # closing the descriptor releases the lock

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

"""Writing a file all at once or not at all: a temporary name beside it, then a rename.

Readers never see a half-written file at the path, whether the writer fails, is interrupted (Ctrl-C) or
is killed: a killed writer leaves only a hidden `.NAME.*.tmp`, which `remove_stale` clears later.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

TMP_SUFFIX = ".tmp"


def temp_name(path: Path) -> Path:
    """A hidden temporary name beside `path`: ``.NAME.<random>.tmp``.

    Parameters
    ----------
    path : pathlib.Path
        The file to be written.

    Returns
    -------
    pathlib.Path
    """
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}{TMP_SUFFIX}")


@contextmanager
def atomic_path(path, fsync: bool = True):
    """Yields a temporary path to write; on success it replaces `path` (after fsync), on any error or
    interruption it is removed and `path` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    fsync : bool
        Flush the temporary to disk before the rename.

    Yields
    ------
    pathlib.Path
        The temporary to write.
    """
    path = Path(path)
    tmp = temp_name(path)
    try:
        yield tmp
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise


def remove_stale(folder, prefix: str = "") -> int:
    """Removes the temporaries that killed writers left in `folder` (names `.{prefix}*.tmp`).

    Parameters
    ----------
    folder : str or os.PathLike
        Where to look.
    prefix : str
        Only temporaries of files whose names begin with it.

    Returns
    -------
    int
        How many were removed.
    """
    removed = 0
    for p in Path(folder).glob(f".{prefix}*{TMP_SUFFIX}"):
        try:
            p.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed

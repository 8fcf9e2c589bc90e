"""Finding input files: a sorted, recursive walk that skips only hidden entries."""

from __future__ import annotations

import os
import stat as stat_module
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple


class FileEntry(NamedTuple):
    """A named tuple, not a frozen dataclass: every build makes one per file
    (10,000 and more), in 0.4 µs against 0.9."""

    rel_path: str  # POSIX, relative to the content folder
    location: str  # the file's path as found (a str: cheaper than Path at scale)
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(self.location)


def discover(content: Path) -> list[FileEntry]:
    """Every regular file under `content`, sorted by relative path.

    Hidden files and folders (".git", ".DS_Store") are editor and VCS
    noise, not articles; everything else is offered to the readers, so a
    file in an unknown format is reported rather than silently ignored.
    Symbolic links are not followed: a link could lead outside the content
    folder or into a loop.
    """
    found: list[FileEntry] = []
    _scan(str(content), "", found)
    found.sort(key=itemgetter(0))  # by rel_path
    return found


def _scan(folder: str, prefix: str, found: list[FileEntry]) -> None:
    # os.scandir gives the file type and stat without a second system call per
    # entry, which matters when rebuilds look at tens of thousands of files.
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        rel = prefix + entry.name
        try:
            if entry.is_dir(follow_symlinks=False):
                _scan(entry.path, rel + "/", found)
                continue
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat_module.S_ISREG(info.st_mode):
            found.append(FileEntry(_printable(rel), entry.path, info.st_size,
                                   info.st_mtime_ns))


def _printable(rel: str) -> str:
    """A name that is not valid UTF-8 (a GBK name from a Windows zip) arrives
    with surrogate escapes, which the cache, the report and the console cannot
    encode; show its undecodable bytes as \\xNN. The file is still opened by
    its real name (FileEntry.location)."""
    try:
        rel.encode("utf-8")
        return rel
    except UnicodeEncodeError:
        return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")

"""Finding input files: a sorted, recursive walk that skips only hidden entries."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileEntry:
    rel_path: str  # POSIX, relative to the content folder
    path: Path
    size: int
    mtime_ns: int


def discover(content: Path) -> list[FileEntry]:
    """Every regular file under `content`, sorted by relative path.

    Hidden files and folders (".git", ".DS_Store") are editor and VCS
    noise, not articles; everything else is offered to the readers, so a
    file in an unknown format is reported rather than silently ignored.
    """
    found: list[FileEntry] = []
    for folder, dirs, names in os.walk(content):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = Path(folder) / name
            try:
                stat = path.stat()
            except OSError:
                continue
            if not path.is_file():
                continue
            rel = path.relative_to(content).as_posix()
            found.append(FileEntry(rel, path, stat.st_size, stat.st_mtime_ns))
    found.sort(key=lambda e: e.rel_path)
    return found

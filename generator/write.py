"""Writing the site: only changed bytes, only our own files, all at once.

The new site is assembled in a sibling staging folder: files whose bytes
did not change are hard-linked from the current output (so their mtime and
inode stay), changed files are written fresh, and then the staging folder
and the output folder trade places in one atomic rename (renameat2 with
RENAME_EXCHANGE). A build killed at any moment leaves either the previous
site or the new one; the next build removes any leftover staging folder.

A manifest in the output records every file the generator wrote (digest,
size, mtime). Files not in it belong to the user and are carried over
untouched; files in it that the new build no longer produces are deleted.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

MANIFEST = ".timeline-manifest.json"
MANIFEST_VERSION = 1


class OutputError(Exception):
    pass


@dataclass(frozen=True)
class WriteResult:
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    deleted: tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    digest: str
    size: int
    mtime_ns: int


def check_output_dir(output: Path, protected: Mapping[str, Path]) -> None:
    """Refuse an output folder that is, or contains, the content or the project."""
    out = output.resolve()
    for what, path in protected.items():
        target = path.resolve()
        if out == target or out in target.parents:
            raise OutputError(f"output folder {output} contains the {what} ({path}); "
                              "choose a separate folder such as public/")


def write_site(output: Path, files: Mapping[str, bytes]) -> WriteResult:
    """Make `output` hold exactly `files` (plus the user's own files)."""
    for rel in files:
        _check_relative(rel)
    output = output.absolute()
    recover(output)
    previous = load_manifest(output)
    digests = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    unchanged = sorted(rel for rel, digest in digests.items()
                       if _is_unchanged(output, rel, digest, previous.get(rel)))
    changed = sorted(set(files) - set(unchanged))
    deleted = sorted(set(previous) - set(files))
    if not changed and not deleted and (output / MANIFEST).exists():
        return WriteResult((), tuple(unchanged), ())
    staging = _sibling(output, "staging")
    _assemble(output, staging, files, changed, set(deleted) | set(changed))
    manifest = {rel: _stat_entry(staging / rel, digests[rel]) for rel in files}
    _write_manifest(staging, manifest)
    _swap_into_place(staging, output)
    return WriteResult(tuple(changed), tuple(unchanged), tuple(deleted))


def recover(output: Path) -> None:
    """Finish or undo whatever a killed build left next to the output folder."""
    old = _sibling(output, "old")
    if not output.exists() and old.exists():
        os.rename(old, output)  # killed between the two fallback renames
    for leftover in (_sibling(output, "staging"), old):
        if leftover.exists():
            shutil.rmtree(leftover)


def load_manifest(output: Path) -> dict[str, _Entry]:
    """The files the generator wrote last time; empty if missing or unreadable
    (then nothing is deleted, because nothing is known to be ours)."""
    try:
        raw = json.loads((output / MANIFEST).read_text(encoding="utf-8"))
        if raw.get("version") != MANIFEST_VERSION:
            return {}
        return {rel: _Entry(*values) for rel, values in raw["files"].items()
                if _is_safe_relative(rel)}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _is_unchanged(output: Path, rel: str, digest: str, entry: _Entry | None) -> bool:
    if entry is None or entry.digest != digest:
        return False
    try:
        stat = (output / rel).stat()
    except OSError:
        return False
    # Size and mtime catch a hand-edited output file without reading it.
    return stat.st_size == entry.size and stat.st_mtime_ns == entry.mtime_ns


def _assemble(output: Path, staging: Path, files: Mapping[str, bytes], changed: list[str],
              not_carried: set[str]) -> None:
    staging.mkdir(parents=True)
    if output.exists():
        for path in _walk_files(output):
            rel = path.relative_to(output).as_posix()
            if rel == MANIFEST or rel in not_carried:
                continue
            _link_or_copy(path, staging / rel)
    for rel in changed:
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(files[rel])


def _walk_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        found.extend(Path(folder) / name for name in sorted(names))
    return found


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)  # file systems without hard links


def _stat_entry(path: Path, digest: str) -> list[object]:
    stat = path.stat()
    return [digest, stat.st_size, stat.st_mtime_ns]


def _write_manifest(staging: Path, manifest: Mapping[str, list[object]]) -> None:
    body = {"version": MANIFEST_VERSION, "files": dict(sorted(manifest.items()))}
    (staging / MANIFEST).write_text(json.dumps(body, ensure_ascii=False, indent=0),
                                    encoding="utf-8")


def _sibling(output: Path, role: str) -> Path:
    return output.parent / f".{output.name}.{role}"


def _swap_into_place(staging: Path, output: Path) -> None:
    _fsync_dir(staging)
    if not output.exists():
        os.rename(staging, output)
    elif _exchange(staging, output):
        shutil.rmtree(staging)  # it now holds the previous site
    else:
        old = _sibling(output, "old")
        os.rename(output, old)
        os.rename(staging, output)
        shutil.rmtree(old)
    _fsync_dir(output.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2). False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_safe_relative(rel: str) -> bool:
    pure = PurePosixPath(rel)
    return bool(rel) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in rel \
        and "\x00" not in rel


def _check_relative(rel: str) -> None:
    if not _is_safe_relative(rel):
        raise OutputError(f"refusing to write outside the output folder: {rel!r}")

"""Filing newly arrived archive files into the content folder.

Each file in the drop folder is read like the build reads it. A readable
article is moved into the content folder under a name derived from its
identity — `<year>/<month>/<slug><suffix>` — so the same article always lands
in the same place whatever the scraper called it. A file that cannot be read
stays where it is and is reported with the reason. A file whose bytes are
already in the content folder is skipped. Running ingest twice on the same
folder therefore does nothing the second time.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from generator.discover import discover
from generator.models import SourceFile
from generator.parse import ParseSettings, parse_bytes


@dataclass(frozen=True)
class IngestResult:
    filed: tuple[tuple[str, str], ...]  # (drop-relative path, content-relative path)
    rejected: tuple[tuple[str, str], ...]  # (drop-relative path, reason)
    duplicates: tuple[tuple[str, str], ...]  # (drop-relative path, existing content path)


def ingest(drop: Path, content: Path, settings: ParseSettings) -> IngestResult:
    """Move the good files of `drop` into `content`; report the rest."""
    existing = _digests(content)
    filed, rejected, duplicates = [], [], []
    for entry in discover(drop):
        if entry.size > settings.max_bytes:
            rejected.append((entry.rel_path, f"file is {entry.size:,} bytes, over the "
                             f"{settings.max_bytes:,}-byte limit (max_input_bytes)"))
            continue
        data = entry.path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest in existing:
            duplicates.append((entry.rel_path, existing[digest]))
            continue
        outcome = parse_bytes(SourceFile(entry.rel_path, data, digest), settings)
        if outcome.article is None:
            problem = outcome.problem
            where = f" (line {problem.line})" if problem and problem.line else ""
            rejected.append((entry.rel_path, (problem.reason if problem else "unreadable")
                             + where))
            continue
        target = _target(content, outcome.article.slug, outcome.article.published.year,
                         outcome.article.published.month, entry.path.suffix, digest)
        _move(entry.path, target, data)
        rel = target.relative_to(content).as_posix()
        existing[digest] = rel
        filed.append((entry.rel_path, rel))
    return IngestResult(tuple(filed), tuple(rejected), tuple(duplicates))


def _digests(content: Path) -> dict[str, str]:
    """sha256 → content-relative path of every file already filed."""
    found = {}
    for entry in discover(content) if content.is_dir() else []:
        found[hashlib.sha256(entry.path.read_bytes()).hexdigest()] = entry.rel_path
    return found


def _target(content: Path, slug: str, year: int, month: int, suffix: str, digest: str) -> Path:
    """`<year>/<month>/<slug><suffix>`; a different scrape of the same article
    (same slug, other bytes) gets the digest appended, and the build reports
    the pair as duplicates."""
    suffix = suffix if suffix in (".txt", ".md", ".markdown", ".html") else ".txt"
    folder = content / f"{year:04d}" / f"{month:02d}"
    target = folder / f"{slug}{suffix}"
    if target.exists():
        target = folder / f"{slug}~{digest[:8]}{suffix}"
    return target


def _move(source: Path, target: Path, data: bytes) -> None:
    """Write the target completely before removing the source, so a crash
    leaves the file in one place or both, never in neither."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".ingest-tmp")
    temp.write_bytes(data)
    os.replace(temp, target)
    source.unlink()

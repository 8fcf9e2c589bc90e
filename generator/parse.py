"""Read + normalise one input file, in a form that runs in worker processes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from generator.discover import FileEntry
from generator.models import Article, Problem, ReadError, Severity, SourceFile
from generator.normalize import NormalizeSettings, normalize
from generator.readers import read_source


@dataclass(frozen=True)
class ParseOutcome:
    rel_path: str
    digest: str
    article: Article | None
    problem: Problem | None  # the error that kept the file off the site


def parse_file(entry: FileEntry, settings: NormalizeSettings, max_bytes: int) -> ParseOutcome:
    """Never raises for bad content: a file that can't be published comes back
    with a Problem naming the line and what to do."""
    if entry.size > max_bytes:
        return _failed(entry.rel_path, "", ReadError(
            f"file is {entry.size:,} bytes, over the {max_bytes:,}-byte limit "
            "(max_input_bytes in site.yaml); check it is really an article or raise the limit"))
    try:
        data = entry.path.read_bytes()
    except OSError as exc:
        return _failed(entry.rel_path, "", ReadError(f"cannot read the file: {exc.strerror}"))
    digest = hashlib.sha256(data).hexdigest()
    return parse_bytes(SourceFile(entry.rel_path, data, digest), settings)


def parse_bytes(source: SourceFile, settings: NormalizeSettings) -> ParseOutcome:
    try:
        article = normalize(read_source(source), settings)
    except ReadError as exc:
        return _failed(source.rel_path, source.digest, exc)
    except RecursionError:
        return _failed(source.rel_path, source.digest,
                       ReadError("HTML nested too deeply to read; the file is malformed"))
    return ParseOutcome(source.rel_path, source.digest, article, None)


def _failed(rel_path: str, digest: str, exc: ReadError) -> ParseOutcome:
    problem = Problem(rel_path, Severity.ERROR, exc.reason, exc.line)
    return ParseOutcome(rel_path, digest, None, problem)

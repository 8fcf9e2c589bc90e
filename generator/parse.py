"""Read, normalise and tag one input file, in a form that runs in worker processes.

A worker gets ParseSettings once (the taxonomy as text, so every process
tags the same way) and then file entries; it returns ParseOutcomes that
carry the article's metadata and its sanitised body, or the problem —
packed as the cache stores them (see `pack`), which the build reads more
cheaply than a pickle and stores as it is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from generator import __version__
from generator.codec import decode_outcome, encode_outcome
from generator.discover import FileEntry
from generator.models import Article, Problem, ReadError, Severity, SourceFile
from generator.normalize import NormalizeSettings, normalize
from generator.readers import read_source
from generator.tagging import Taxonomy, parse_taxonomy


@dataclass(frozen=True)
class ParseSettings:
    """Everything that changes what parsing a file produces."""

    normalize: NormalizeSettings
    scope_keywords: tuple[str, ...]
    taxonomy_text: str
    max_bytes: int

    @cached_property
    def key(self) -> str:
        """Part of every cache key: change any setting and old entries miss."""
        blob = repr((__version__, self.normalize, self.scope_keywords, self.max_bytes,
                     hashlib.sha256(self.taxonomy_text.encode()).hexdigest()))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return parse_taxonomy(self.taxonomy_text)[0]


@dataclass(frozen=True)
class ParseOutcome:
    rel_path: str
    digest: str
    article: Article | None
    body_html: str | None
    problem: Problem | None  # the error that kept the file off the site
    unknown_tags: tuple[str, ...] = ()

    def without_body(self) -> "ParseOutcome":
        # Not dataclasses.replace, which walks the fields in Python: this runs
        # for every file parsed.
        return ParseOutcome(self.rel_path, self.digest, self.article, None, self.problem,
                            self.unknown_tags)


class Fresh(NamedTuple):
    """A file parsed in this build, in the forms the build keeps and stores."""

    outcome: ParseOutcome  # without its body
    record: bytes  # the cache record of `outcome`: codec.encode_outcome(outcome)
    body: bytes | None  # the sanitised body as UTF-8, the cache's TEXT byte for byte


# What a parse worker sends back: a Fresh without its outcome, which the
# record holds. Pickling the outcome instead would cost the worker an Article's
# reduce calls and the build ≈29 µs to unpickle it (the body's UTF-8 decoded
# on the way), then ≈10 µs to drop the body and encode the record the cache
# stores; decoding the record takes ≈16 µs, and the body's UTF-8 goes into
# the cache as it is. The build's process shares two cores with the workers.
Packed = tuple[bytes, bytes | None]


def pack(outcome: ParseOutcome) -> Packed:
    """The outcome's cache record (without its body) and its body as UTF-8."""
    return encode_outcome(outcome.without_body()), _utf8(outcome.body_html)


def unpack(packed: Packed) -> Fresh:
    """The Fresh that `pack` packed (the outcome equal in every field)."""
    record, body = packed
    return Fresh(decode_outcome(record), record, body)


def fresh(outcome: ParseOutcome) -> Fresh:
    """A Fresh from an outcome parsed in this process."""
    bare = outcome.without_body()
    return Fresh(bare, encode_outcome(bare), _utf8(outcome.body_html))


def _utf8(body: str | None) -> bytes | None:
    return None if body is None else body.encode("utf-8")


def cache_key(digest: str, settings: ParseSettings) -> str:
    return f"{digest}:{settings.key}"


def parse_file(entry: FileEntry, settings: ParseSettings) -> ParseOutcome:
    """Never raises for bad content: a file that can't be published comes back
    with a Problem naming the line and what to do."""
    if entry.size > settings.max_bytes:
        return _failed(entry.rel_path, "", ReadError(
            f"file is {entry.size:,} bytes, over the {settings.max_bytes:,}-byte limit "
            "(max_input_bytes in site.yaml); check it is really an article or raise the limit"))
    try:
        with open(entry.location, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return _failed(entry.rel_path, "", ReadError(f"cannot read the file: {exc.strerror}"))
    digest = hashlib.sha256(data).hexdigest()
    return parse_bytes(SourceFile(entry.rel_path, data, digest), settings)


# The start of the reason given when reading a file hit a bug in the generator.
INTERNAL_ERROR = "the generator failed on this file"


def parse_bytes(source: SourceFile, settings: ParseSettings) -> ParseOutcome:
    try:
        return _parse_bytes(source, settings)
    except Exception as exc:  # a bug must cost one file, not the whole build
        return _failed(source.rel_path, source.digest, ReadError(
            f"{INTERNAL_ERROR} ({type(exc).__name__}: {str(exc)[:200]}); it was not "
            "published — please report this with the file"))


def _parse_bytes(source: SourceFile, settings: ParseSettings) -> ParseOutcome:
    try:
        result = normalize(read_source(source), source.digest, settings.normalize)
    except ReadError as exc:
        return _failed(source.rel_path, source.digest, exc)
    except RecursionError:
        return _failed(source.rel_path, source.digest,
                       ReadError("HTML nested too deeply to read; the file is malformed"))
    article = result.article
    taxonomy = settings.taxonomy
    detected = taxonomy.tag(article.title, result.text)
    tags, unknown = taxonomy.merge(detected, article.declared_tags)
    haystack = article.title + "\n" + result.text
    hit = not settings.scope_keywords or any(k in haystack for k in settings.scope_keywords)
    # dataclasses.replace(article, tags=..., scope_hit=...) without its
    # Python walk over the twenty fields: the new article's fields are the
    # old one's (an Article has no other attributes) with these two changed.
    article = Article(**{**vars(article), "tags": tags, "scope_hit": hit})
    return ParseOutcome(source.rel_path, source.digest, article, result.body_html, None,
                        tuple(unknown))


def _failed(rel_path: str, digest: str, exc: ReadError) -> ParseOutcome:
    problem = Problem(rel_path, Severity.ERROR, exc.reason, exc.line)
    return ParseOutcome(rel_path, digest, None, None, problem)

"""Parse outcomes and articles as compact bytes, for the cache and the stored report.

An incremental build loads every cached parse (10,000 at 10,000 articles),
so how they are encoded is a fixed cost of each build. Pickle rebuilds an
outcome through Python-level reduce calls for it, its article, outlet,
problem and times (≈25 µs an outcome); here an article is the list of its
field values in one marshal record — strings, numbers and tuples only, the
outlet as (key, name) and the publication time as whole microseconds since
1970 — and one call to Article makes it again (≈13 µs an outcome).

Records start with a tag naming the layout (the field names of Article,
ParseOutcome and Problem): bytes written by code with other fields are
refused (`CodecError`) rather than read into the wrong fields. Anything the
compact form cannot hold exactly (a publication time in another zone than
UTC, a value marshal refuses) is pickled instead, behind its own tag.
"""

from __future__ import annotations

import hashlib
import marshal
import pickle
import sys
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Sequence

from generator.models import (_ARTICLE_FIELDS, Article, Problem, Severity, _shared_month,
                              _shared_outlet)

if TYPE_CHECKING:
    from generator.parse import ParseOutcome


class CodecError(ValueError):
    """Bytes this code did not write (another layout, or damaged)."""


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# ParseOutcome's fields (written out: importing generator.parse costs what
# decoding a stored report need not pay; tests/test_codec.py holds them equal).
_OUTCOME_FIELDS = ("rel_path", "digest", "article", "body_html", "problem", "unknown_tags")
_PROBLEM_FIELDS = tuple(f.name for f in fields(Problem))
_LAYOUT = hashlib.sha1(repr((_ARTICLE_FIELDS, _OUTCOME_FIELDS, _PROBLEM_FIELDS)).encode()
                       ).digest()[:6]
COMPACT = b"M" + _LAYOUT  # a marshal record of this layout
PICKLED = b"P" + _LAYOUT  # a pickle, for what the compact form cannot hold

_values = attrgetter(*_ARTICLE_FIELDS)
_OUTLET = _ARTICLE_FIELDS.index("outlet")
_PUBLISHED = _ARTICLE_FIELDS.index("published")
_TAGS = _ARTICLE_FIELDS.index("tags")
_FORMAT = _ARTICLE_FIELDS.index("format")
_MONTH = _ARTICLE_FIELDS.index("local_month")
_UID = _ARTICLE_FIELDS.index("uid")
_SOURCE_URL = _ARTICLE_FIELDS.index("source_url")
_REL_PATH = _ARTICLE_FIELDS.index("rel_path")


def encode_outcome(outcome: ParseOutcome) -> bytes:
    """One parse outcome as bytes for the cache (see decode_outcome)."""
    article = _article_values(outcome.article) if outcome.article is not None else None
    problem = outcome.problem
    if outcome.article is None or article is not None:
        record = (outcome.rel_path, outcome.digest, article, outcome.body_html,
                  None if problem is None else (problem.source_path, problem.severity.value,
                                                problem.reason, problem.line),
                  outcome.unknown_tags)
        try:
            return COMPACT + marshal.dumps(record)
        except ValueError:  # a value of a type marshal does not know
            pass
    return PICKLED + pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)


def decode_outcome(data: bytes | memoryview) -> ParseOutcome:
    """The outcome encode_outcome made these bytes from (equal in every field)."""
    tag, body = data[:len(COMPACT)], data[len(COMPACT):]
    kind = _outcome_type()
    if tag == PICKLED:
        found = pickle.loads(body)
        if type(found) is not kind:
            raise CodecError("not a parse outcome")
        return found
    if tag != COMPACT:
        raise CodecError("written by another version of the generator")
    try:
        rel_path, digest, article, body_html, problem, unknown_tags = marshal.loads(body)
        outcome: ParseOutcome = object.__new__(kind)
        outcome.__dict__.update(
            rel_path=rel_path, digest=digest,
            article=None if article is None else _article(article, rel_path),
            body_html=body_html,
            problem=None if problem is None else Problem(problem[0], Severity(problem[1]),
                                                         problem[2], problem[3]),
            unknown_tags=unknown_tags)
    except (EOFError, TypeError, ValueError, IndexError) as exc:
        raise CodecError(f"damaged record ({exc})") from exc
    return outcome


_OUTCOME_TYPE: type[ParseOutcome] | None = None


def _outcome_type() -> type[ParseOutcome]:
    """ParseOutcome, imported when first needed: generator.parse brings the
    readers and the sanitizer, which decoding a stored report does not need."""
    global _OUTCOME_TYPE
    if _OUTCOME_TYPE is None:
        from generator.parse import ParseOutcome

        _OUTCOME_TYPE = ParseOutcome
    return _OUTCOME_TYPE


def encode_article(article: Article) -> bytes:
    """One article as bytes (see decode_article)."""
    values = _article_values(article)
    if values is not None:
        try:
            return COMPACT + marshal.dumps(values)
        except ValueError:
            pass
    return PICKLED + pickle.dumps(article, protocol=pickle.HIGHEST_PROTOCOL)


def decode_article(data: bytes | memoryview) -> Article:
    tag, body = data[:len(COMPACT)], data[len(COMPACT):]
    if tag == PICKLED:
        found = pickle.loads(body)
        if type(found) is not Article:
            raise CodecError("not an article")
        return found
    if tag != COMPACT:
        raise CodecError("written by another version of the generator")
    try:
        values = marshal.loads(body)
        return _article(values, values[_REL_PATH])
    except (EOFError, TypeError, ValueError, IndexError) as exc:
        raise CodecError(f"damaged record ({exc})") from exc


def _article_values(article: Article) -> list[Any] | None:
    """The article's field values, in field order, with the outlet and the
    publication time in plain form; None if that would not be exact."""
    values = list(_values(article))
    outlet, published = values[_OUTLET], values[_PUBLISHED]
    # Only UTC round-trips exactly (another zone would come back as UTC).
    if type(published) is not datetime or published.tzinfo is not timezone.utc:
        return None
    values[_OUTLET] = (outlet.key, outlet.name)
    values[_PUBLISHED] = (published - _EPOCH) // _MICROSECOND
    if values[_UID] == values[_SOURCE_URL]:
        # One object for both, so marshal writes the URL once and refers back
        # to it (as it did for the unpickled articles it used to be given).
        values[_UID] = values[_SOURCE_URL]
    return values


def _article(values: Sequence[Any], rel_path: str) -> Article:
    """An Article from _article_values' list, holding what many articles hold
    equal once (the outlet, tag names, format, month), like an unpickled one
    (see models._unpickled_article).

    Made by Article's own __init__, though setting the instance's __dict__
    directly would take half as long: an object whose __dict__ has been
    touched keeps its attributes in a real dict, and every later read of
    them (the whole build reads articles' fields) is ≈60 % slower."""
    values = list(values)
    values[_OUTLET] = _shared_outlet(*values[_OUTLET])
    values[_PUBLISHED] = _EPOCH + timedelta(microseconds=values[_PUBLISHED])
    values[_TAGS] = tuple(map(sys.intern, values[_TAGS]))
    values[_FORMAT] = sys.intern(values[_FORMAT])
    values[_MONTH] = _shared_month(*values[_MONTH])
    if values[_UID] == values[_SOURCE_URL]:
        values[_UID] = values[_SOURCE_URL]
    if values[_REL_PATH] == rel_path:
        values[_REL_PATH] = rel_path
    if len(values) != len(_ARTICLE_FIELDS):
        raise CodecError("wrong number of article fields")
    return Article(*values)

"""Curated-taxonomy tagging for Chinese-language news articles.

The taxonomy (``content/tags.yaml``) lists people, countries/regions,
organisations, places and topics, each with the aliases under which Chinese
news refers to it (Simplified and Traditional characters, Taiwan/Hong Kong
transliterations, full and short names, English names).  This module loads and
validates that file and finds the tags in an article.

Evidence rule
-------------
Mentions are counted separately in the title and in the body.  A tag is
assigned to an article when

* it is mentioned at least once in the title, **or**
* it is mentioned at least ``min_body_mentions`` times in the body (default 2:
  a single passing mention in the body is not enough).

Assigned tags are ranked by ``score = title_weight * title_mentions +
body_mentions`` (default ``title_weight`` 3: a headline mention is worth three
body mentions), ties broken by slug so the order is deterministic, and at most
``max_tags`` (default 12) are kept.

When more than ``max_tags`` tags qualify and ``balance_kinds`` is on (the
default), the kept set is chosen round-robin over kinds: the strongest tag of
each kind, then the second strongest of each kind, and so on (within a round,
stronger first).  Raw counts alone would fill every card with the countries
every article names (俄罗斯, 乌克兰, 美国) and capitals used as metonyms
(莫斯科, 华盛顿), pushing out the people, venues and topics that distinguish
the article.  The returned order is still by score.

``min_body_mentions``, ``title_weight``, ``max_tags`` and ``balance_kinds`` can
be overridden in the ``settings:`` block of tags.yaml.

What counts as a mention
------------------------
* Text and aliases are normalised the same way first: full-width ASCII becomes
  half-width, ASCII letters become lower case, and the middle-dot variants
  (· ‧ • ・ ･ ∙ ⋅) become one dot, so ``安东尼・布林肯`` matches ``安东尼·布林肯``.
* Every alias and every exclusion phrase of the whole taxonomy lives in one
  Aho–Corasick automaton; each text is scanned once.  Overlapping hits are
  resolved leftmost-longest: a longer phrase that covers a shorter one wins.
  So ``白俄罗斯`` (Belarus) hides the ``俄罗斯`` inside it, and a tag's
  ``exclude`` phrases (e.g. ``美国之音`` for the United States) are simply
  blocking phrases that win over the alias they contain and count for nobody.
* An alias whose first/last character is an ASCII letter or digit only counts
  when the neighbouring character is not one (word boundaries), so ``UN`` does
  not fire inside ``UNESCO``.
* A name followed by its own gloss in brackets, ``布林肯 (Antony Blinken)``,
  is one mention, not two.
* The display name and the English name are aliases too.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from itertools import compress, zip_longest
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import ahocorasick_rs
import numpy as np
import yaml

__all__ = [
    "KINDS",
    "TagDef",
    "TaggingRules",
    "Taxonomy",
    "TaxonomyError",
    "build_taxonomy",
    "load_taxonomy",
    "parse_taxonomy",
    "normalise",
]

KINDS: tuple[str, ...] = ("person", "country", "organisation", "place", "topic")
"""Allowed values of ``TagDef.kind``; "country" covers countries and regions."""

_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TAG_KEYS = frozenset({"slug", "name", "en", "kind", "aliases", "exclude"})


# --------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------

_DOT = "\u00b7"
_DOT_VARIANTS = "\u2027\u2022\u30fb\uff65\u2219\u22c5"


def _build_normalise_table() -> dict[int, str]:
    table: dict[int, str] = {}
    # Full-width ASCII (U+FF01..U+FF5E) sits exactly 0xFEE0 above ASCII.
    for code in range(0xFF01, 0xFF5F):
        table[code] = chr(code - 0xFEE0)
    table[0x3000] = " "  # ideographic space
    table[0x00A0] = " "  # no-break space, common in scraped HTML
    for dot in _DOT_VARIANTS:
        table[ord(dot)] = _DOT
    # Lower-case ASCII only: str.lower() may change the length of some
    # non-ASCII strings ('İ' -> 'i̇'), and hit offsets must stay valid.
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = chr(code + 32)
    for code in range(0xFF21, 0xFF3B):  # full-width A-Z straight to a-z
        table[code] = chr(code - 0xFEE0 + 32)
    return table


_NORMALISE_TABLE = _build_normalise_table()

# Every code point the table changes is below this; the ones at or above it
# (CJK ideographs among them) are left alone.
_NORMALISE_LIMIT = max(_NORMALISE_TABLE) + 1


def _build_normalise_shift() -> np.ndarray:
    """The table as a shift to add to each code point (mod 2**32, so shifts
    down wrap around). The last slot, 0, serves every code point >= the limit."""
    shift = np.zeros(_NORMALISE_LIMIT + 1, dtype=np.uint32)
    for code, target in _NORMALISE_TABLE.items():
        shift[code] = (ord(target) - code) % 2**32
    return shift


_NORMALISE_SHIFT = _build_normalise_shift()
# Below this length str.translate beats NumPy's fixed per-call cost.
_SHORT_TEXT = 64


def normalise(text: str) -> str:
    """Return ``text`` with full-width ASCII made half-width, ASCII lower-cased
    and middle-dot variants unified.

    The mapping is one character to one character, so offsets into the result
    are offsets into the original.
    """
    if text.isascii():
        # On ASCII the table only lower-cases A-Z, which is all str.lower()
        # does to ASCII; isascii() is O(1) for str.
        return text.lower()
    if len(text) < _SHORT_TEXT:
        return text.translate(_NORMALISE_TABLE)
    return _normalise_codes(text)


def _normalise_codes(text: str) -> str:
    """The table applied with NumPy: str.translate with a dict does one dict
    lookup per character of non-ASCII text, ten times slower on an article.
    UTF-32 keeps one array item per character, so the length is unchanged;
    surrogatepass lets a lone surrogate through unchanged, as translate does."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # mode="clip" reads every code point >= the limit from the last slot (0)
    # without a ufunc to clamp them first; the sum is done in the new array
    # take makes, and decoded from it without copying it into bytes.
    shifted = _NORMALISE_SHIFT.take(codes, mode="clip")
    shifted += codes
    return str(shifted.data, "utf-32-le", "surrogatepass")


def _is_word_char(char: str) -> bool:
    """True for the characters that glue an ASCII alias to its neighbours."""
    return char.isascii() and char.isalnum()


def _lookup_key(name: str) -> str:
    """Key used by :meth:`Taxonomy.resolve`: normalised, trimmed, spaces collapsed."""
    return " ".join(normalise(name).split())


# --------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TagDef:
    """One curated tag.

    ``aliases`` are the surface forms that count as a mention (the display
    ``name`` and ``en`` count as well); ``exclude`` are longer phrases
    containing one of those forms in which the form must not count.
    """

    slug: str
    name: str
    en: str
    kind: str
    aliases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def match_terms(self) -> tuple[str, ...]:
        """Normalised, de-duplicated surface forms (name, en, aliases) in file order."""
        return _dedupe(normalise(term).strip() for term in (self.name, self.en, *self.aliases))


@dataclass(frozen=True)
class TaggingRules:
    """The evidence rule (see the module docstring).

    ``min_body_mentions``: body mentions needed when the title has none.
    ``title_weight``: how many body mentions one title mention is worth when ranking.
    ``max_tags``: keep at most N tags per article.
    ``balance_kinds``: when more than ``max_tags`` qualify, pick them round-robin
    over kinds instead of purely by score.
    """

    min_body_mentions: int = 2
    title_weight: int = 3
    max_tags: int = 12
    balance_kinds: bool = True

    def __post_init__(self) -> None:
        for field in fields(self):
            problem = _rule_problem(field.name, getattr(self, field.name))
            if problem:
                raise ValueError(f"TaggingRules.{problem}")


def _rule_problem(name: str, value: object) -> str | None:
    """Why ``value`` is not acceptable for rule ``name`` (None if it is)."""
    if name == "balance_kinds":
        return None if isinstance(value, bool) else f"{name} must be true or false, got {value!r}"
    # bool is an int subclass; `max_tags: yes` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"{name} must be an integer >= 1, got {value!r}"
    return None


@dataclass(frozen=True)
class TaxonomyError:
    """A problem found while loading tags.yaml; ``line`` is 1-based when known."""

    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


# --------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------


class _Pattern(NamedTuple):
    """What a hit on one normalised phrase means."""

    slug: str | None  # None: a blocking (exclusion) phrase that counts for nobody
    check_left: bool  # phrase starts with [a-z0-9]: needs a word boundary before it
    check_right: bool  # phrase ends with [a-z0-9]: needs a word boundary after it


# What separates a name from its bracketed gloss: "布林肯 (Blinken)", "普京（Putin）".
# Full-width brackets are already half-width after normalisation.
_GLOSS_GAP = re.compile(r"\s{0,2}[(\[【〔「《]\s{0,2}")
# The most UTF-8 bytes a gap can take: five characters (two spaces, a
# bracket, two spaces) of at most four bytes. Longer gaps are never decoded.
_GLOSS_GAP_MAX_BYTES = 5 * 4


def _is_gloss_gap(data: bytes, start: int, end: int) -> bool:
    """True if the UTF-8 bytes data[start:end] are a gap before a gloss."""
    return end - start <= _GLOSS_GAP_MAX_BYTES and _GLOSS_GAP.fullmatch(
        data[start:end].decode("utf-8", "surrogatepass")) is not None


# In UTF-8 a byte below 0x80 is a whole ASCII character and every other byte
# part of a non-ASCII one, so the byte next to a hit tells whether the
# character there glues to an ASCII alias.
_IS_WORD_BYTE = tuple(byte < 0x80 and _is_word_char(chr(byte)) for byte in range(256))


class Taxonomy:
    """A validated set of tags plus the evidence rule, ready to tag text.

    The Aho–Corasick automaton over all aliases and exclusion phrases is built
    once, when the first text is tagged, so tagging an article costs one pass
    over its title and body regardless of the taxonomy's size.
    (It is not built here: a build with nothing to parse reads the taxonomy
    only for its tags, and the automaton takes tens of milliseconds to build.)
    """

    __slots__ = ("_tags", "_slugs", "_kinds", "_rules", "_patterns", "_scanner", "_index")

    def __init__(self, tags: Sequence[TagDef], rules: TaggingRules) -> None:
        """Build the taxonomy; raises ``ValueError`` if ``tags`` conflict
        (duplicate slugs, a surface form claimed by two tags, bad kind or slug).
        Use :func:`load_taxonomy` to get reported, skipped problems instead."""
        problems = _conflicts(tags)
        if problems:
            raise ValueError("invalid taxonomy: " + "; ".join(problems))
        self._tags: Mapping[str, TagDef] = MappingProxyType({tag.slug: tag for tag in tags})
        # Tags are numbered in slug order: counting and ranking handle the
        # numbers, and a tie broken by number is a tie broken by slug.
        self._slugs = sorted(self._tags)
        kind_of = {tag.slug: tag.kind for tag in tags}
        # Each tag's kind as its position in KINDS, by tag number.
        self._kinds = [KINDS.index(kind_of[slug]) for slug in self._slugs]
        self._rules = rules
        self._patterns = _patterns(tags)
        self._scanner: _Scanner | None = None  # built on first use
        self._index = _build_index(tags)

    @property
    def tags(self) -> Mapping[str, TagDef]:
        """Tags by slug, in file order (read-only)."""
        return self._tags

    @property
    def rules(self) -> TaggingRules:
        """The evidence rule in force."""
        return self._rules

    def mentions(self, text: str) -> dict[str, int]:
        """Count mentions of each tag in ``text`` (only tags with at least one).

        Hits come leftmost-longest from the automaton; ASCII aliases must sit
        on word boundaries; a name followed by its own bracketed gloss counts
        once (see :meth:`_Scanner.count`)."""
        if not self._patterns or not text:
            return {}
        return self._by_slug(self._scanner_built().count(normalise(text)))

    def _scanner_built(self) -> _Scanner:
        scanner = self._scanner
        if scanner is None:
            numbers = {slug: number for number, slug in enumerate(self._slugs)}
            scanner = self._scanner = _Scanner(self._patterns, numbers)
        return scanner

    def _by_slug(self, counts: Mapping[int, int]) -> dict[str, int]:
        """Counts by tag number as counts by slug, in the same order."""
        slugs = self._slugs
        return {slugs[number]: count for number, count in counts.items()}

    def _mentioned(self, counts: Sequence[int]) -> dict[str, int]:
        """A count per tag number (see _Scanner.count_pair) as counts by
        slug, of the tags mentioned, in slug order."""
        slugs = self._slugs
        return {slugs[number]: counts[number] for number in compress(range(len(slugs)), counts)}

    def _title_and_body_mentions(self, title: str, body_text: str
                                 ) -> tuple[dict[str, int], dict[str, int]]:
        """``(mentions(title), mentions(body_text))`` as :meth:`tag` counts
        them: from one scan when the scanner can tell the two apart (see
        _Scanner.count_pair)."""
        if not self._patterns:
            return {}, {}
        title_counts, counts = self._scanner_built().count_pair(title, body_text)
        body_counts = [both - in_title for both, in_title in zip(counts, title_counts)]
        return self._mentioned(title_counts), self._mentioned(body_counts)

    def tag(self, title: str, body_text: str) -> tuple[str, ...]:
        """Slugs assigned to an article under the evidence rule, strongest
        first, ties by slug; at most ``rules.max_tags``.  Same input, same output."""
        if not self._patterns:
            return ()
        rules = self._rules
        ranked = self._ranked(*self._scanner_built().count_pair(title, body_text))
        if rules.balance_kinds and len(ranked) > rules.max_tags:
            ranked = _round_robin_by_kind(ranked, self._kinds, len(self._slugs), rules.max_tags)
        slugs, tag_count = self._slugs, len(self._slugs)
        return tuple([slugs[key % tag_count] for key in ranked[: rules.max_tags]])

    def _ranked(self, title_counts: Sequence[int], counts: Sequence[int]) -> list[int]:
        """Sort keys of the tags that qualify, strongest first, ties by slug,
        from the mentions in the title and in title and body together.

        A tag's key is ``number - score * tag_count``: as 0 <= number <
        tag_count, keys order as (-score, number) pairs do, number is
        ``key % tag_count``, and sorting plain integers is several times
        cheaper than sorting pairs. Every tag mentioned in the title
        qualifies, the others by their body mentions alone. (compress
        finds the few tags mentioned among all without a Python loop.)"""
        extra, enough = self._rules.title_weight - 1, self._rules.min_body_mentions
        numbers = range(len(self._slugs))
        tag_count = len(numbers)
        keys = [number - (extra * title_counts[number] + counts[number]) * tag_count
                for number in compress(numbers, counts)
                if title_counts[number] or counts[number] >= enough]
        keys.sort()
        return keys

    def resolve(self, name: str) -> str | None:
        """Slug for a hand-written tag given as slug, display name, English name
        or any alias (case and full-width insensitive), or None if unknown."""
        return self._index.get(_lookup_key(name))

    def merge(
        self, detected: tuple[str, ...], handwritten: Sequence[str]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Combine detected slugs with an article's hand-written tags.

        Returns ``(merged, unknown)``: ``merged`` holds every known hand-written
        tag (as slugs, in the author's order; never dropped) followed by the
        detected slugs not already present; ``unknown`` holds the hand-written
        names that resolve to no tag, as written, without duplicates.
        """
        chosen: list[str] = []
        unknown: list[str] = []
        for name in handwritten:
            cleaned = name.strip()
            if not cleaned:
                continue
            slug = self.resolve(cleaned)
            if slug is None:
                unknown.append(cleaned)
            else:
                chosen.append(slug)
        # The author's choice comes first: it is deliberate, detection is a guess.
        merged = _dedupe([*chosen, *detected])
        return merged, _dedupe(unknown)


def _round_robin_by_kind(ranked: Sequence[int], kind_of: Sequence[int], tag_count: int,
                         limit: int) -> list[int]:
    """Pick ``limit`` of the sort keys ``ranked`` (strongest first, see
    Taxonomy._ranked; ``kind_of`` by tag number): the best of each kind, then
    the second best of each kind, ...; stronger first within a round. That is
    the first ``limit`` in order of (rank within its kind, key), so one sort
    picks them. Returned strongest first."""
    by_kind: list[list[int]] = [[] for _ in KINDS]
    for key in ranked:
        by_kind[kind_of[key % tag_count]].append(key)
    chosen: list[int] = []
    # Round by round: the best of each kind, then the second best, ...;
    # kinds that ran out are padded with 0, which no key is (keys of
    # mentioned tags are negative).
    for layer in zip_longest(*by_kind, fillvalue=0):
        keys = sorted(layer)
        chosen += keys[:min(limit - len(chosen), len(keys) - keys.count(0))]
        if len(chosen) == limit:
            break
    chosen.sort()
    return chosen


def _patterns(tags: Sequence[TagDef]) -> dict[str, _Pattern]:
    """Every normalised alias and exclusion phrase with what a hit on it means."""
    patterns: dict[str, _Pattern] = {}
    for tag in tags:
        for phrase in tag.exclude:
            key = normalise(phrase).strip()
            if key:
                patterns[key] = _pattern(key, None)
    for tag in tags:
        for key in tag.match_terms():
            # An alias wins over an identical exclusion phrase: it blocks the
            # shorter alias just as well and also counts for its own tag.
            patterns[key] = _pattern(key, tag.slug)
    return patterns


class _Scanner:
    """The automaton over every phrase, and what a hit on each phrase means.

    ahocorasick-rs resolves overlapping hits leftmost-longest itself and
    gives each as (pattern index, start, end); what the patterns mean is kept
    in lists by that index, so the loop over hits does list lookups only.
    The automaton is a DFA: slower to build than the NFAs (tens of
    milliseconds, once per process) but the fastest to scan with.

    Text is scanned as UTF-8 bytes, so offsets are byte offsets. Encoding
    with surrogatepass lets a lone surrogate (which a str scan refuses)
    through as bytes that no phrase's UTF-8 can match; a phrase's UTF-8 can
    only match at character boundaries, so the hits are those of the text.
    """

    __slots__ = ("_automaton", "_tag_count", "_codes", "_tags", "_check_left", "_check_right",
                 "_separable")

    def __init__(self, patterns: Mapping[str, _Pattern], numbers: Mapping[str, int]) -> None:
        """``numbers``: the number of each tag, which counts are keyed by."""
        phrases = [key.encode("utf-8", "surrogatepass") for key in patterns]
        # No hit can take in a byte no phrase has (see count_pair).
        self._separable = not any(_SEPARATOR in phrase for phrase in phrases)
        self._automaton = ahocorasick_rs.BytesAhoCorasick(
            phrases,
            matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
            implementation=ahocorasick_rs.Implementation.DFA,
        )
        meanings = list(patterns.values())
        # The slot of the counts a hit on each phrase adds to: its tag's
        # number, or one slot past the tags' for an exclusion phrase, whose
        # hits count for nobody (and break a gloss, as no tag has its number).
        self._tag_count = len(numbers)
        self._tags = [self._tag_count if pattern.slug is None else numbers[pattern.slug]
                      for pattern in meanings]
        self._check_left = [pattern.check_left for pattern in meanings]
        self._check_right = [pattern.check_right for pattern in meanings]
        # The same with the few phrases that have ASCII ends marked
        # _BOUNDED: only their hits need the boundary test, and most hits
        # cost one list lookup and one comparison.
        self._codes = [_BOUNDED if pattern.check_left or pattern.check_right else tag
                       for pattern, tag in zip(meanings, self._tags)]

    def count_pair(self, title: str, body: str) -> tuple[list[int], list[int]]:
        """Mentions in the title, and in title and body together (not
        normalised), as count() finds them, each as a list of counts indexed
        by tag number (one list of both, so that finding the tags mentioned
        takes one pass), from one scan of title + separator + body: one call
        into the automaton instead of two.

        Hits are the same as those of two scans: a hit cannot span the
        separator (no phrase has its byte), so leftmost-longest matching
        finds the title's hits in the title part and then the body's in the
        body part. Next to a hit the separator is no letter or digit, as the
        end of the text is; the gloss rule restarts at the body, as a scan of
        its own would."""
        if not self._separable:
            title_counts = self._counts(normalise(title), self._no_counts())
            return title_counts, self._counts(normalise(body), title_counts.copy())
        title_data = normalise(title).encode("utf-8", "surrogatepass")
        data = _SEPARATOR.join((title_data, normalise(body).encode("utf-8", "surrogatepass")))
        hits = self._automaton.find_matches_as_indexes(data)
        first_body_hit = bisect.bisect_left(hits, len(title_data) + 1, key=_hit_start)
        title_counts = self._tally(data, hits[:first_body_hit], self._no_counts())
        return title_counts, self._tally(data, hits[first_body_hit:], title_counts.copy())

    def _no_counts(self) -> list[int]:
        """A zero count per tag number, and one for exclusions at the end."""
        return [0] * (self._tag_count + 1)

    def _counts(self, norm: str, counts: list[int]) -> list[int]:
        """`counts` with the mentions in normalised text added."""
        data = norm.encode("utf-8", "surrogatepass")
        return self._tally(data, self._automaton.find_matches_as_indexes(data), counts)

    def count(self, norm: str) -> dict[int, int]:
        """Mentions per tag number in normalised text, in order of first mention."""
        data = norm.encode("utf-8", "surrogatepass")
        hits = self._automaton.find_matches_as_indexes(data)
        counts = self._tally(data, hits, self._no_counts())
        # A tag's first hit that is on word boundaries always counts (a gloss
        # only follows a hit of its tag).
        numbers = (self._tags[index] for index, start, end in hits
                   if self._on_word_boundaries(data, index, start, end))
        return {number: counts[number] for number in dict.fromkeys(numbers)
                if number < self._tag_count}

    def _tally(self, data: bytes, hits: list[tuple[int, int, int]], counts: list[int]
               ) -> list[int]:
        """`counts` (a count per tag number, see _no_counts) with the
        mentions added that the automaton's hits in one text of `data` are.

        A hit of an ASCII-edged phrase glued to a letter or digit is no hit.
        A hit of an exclusion phrase counts for nobody. A hit right after a
        hit of the same tag, separated by a gloss gap, is that name's gloss
        and is not counted again; it can follow only an earlier hit of its
        tag, so the first hit of a tag always counts.
        This loop runs for every hit of every article: the boundary and gloss
        tests run only where they can apply."""
        codes = self._codes
        # A list, not a dict: list items by int index are the cheapest to
        # read and add to (the counts are small ints, which are cached).
        # No tag's number is -1: the first hit is no gloss.
        previous, previous_end = -1, -1
        for index, start, end in hits:
            number = codes[index]
            if number == _BOUNDED:  # rare: a phrase with ASCII ends
                if not self._on_word_boundaries(data, index, start, end):
                    continue
                number = self._tags[index]
            if number != previous or not _is_gloss_gap(data, previous_end, start):
                counts[number] += 1
            previous, previous_end = number, end
        return counts

    def _on_word_boundaries(self, data: bytes, index: int, start: int, end: int) -> bool:
        """False if pattern ``index``'s hit data[start:end] starts or ends with
        an ASCII letter or digit and a letter or digit is next to it there."""
        if self._check_left[index] and start > 0 and _IS_WORD_BYTE[data[start - 1]]:
            return False
        return not (self._check_right[index] and end < len(data) and _IS_WORD_BYTE[data[end]])


# What _Scanner._codes holds for a phrase whose hits need the word-boundary test.
_BOUNDED = -1

# Between the title and the body in count_pair's single scan: no letter or
# digit (for word boundaries), no space or bracket (for glosses).
_SEPARATOR = b"\x00"


def _hit_start(hit: tuple[int, int, int]) -> int:
    return hit[1]


def _pattern(key: str, slug: str | None) -> _Pattern:
    return _Pattern(slug, _is_word_char(key[0]), _is_word_char(key[-1]))


def _build_index(tags: Sequence[TagDef]) -> dict[str, str]:
    index: dict[str, str] = {}
    for tag in tags:
        for name in (tag.slug, tag.name, tag.en, *tag.aliases):
            index.setdefault(_lookup_key(name), tag.slug)
    return index


def _conflicts(tags: Sequence[TagDef]) -> list[str]:
    """Human-readable reasons ``tags`` cannot form a taxonomy (empty if fine)."""
    problems: list[str] = []
    slugs: set[str] = set()
    owner: dict[str, str] = {}
    for tag in tags:
        if not _SLUG_RE.match(tag.slug):
            problems.append(f"bad slug {tag.slug!r}")
        if tag.kind not in KINDS:
            problems.append(f"{tag.slug}: bad kind {tag.kind!r}")
        if tag.slug in slugs:
            problems.append(f"duplicate slug {tag.slug!r}")
        slugs.add(tag.slug)
        for term in tag.match_terms():
            if not term:
                problems.append(f"{tag.slug}: empty alias")
            elif owner.setdefault(term, tag.slug) != tag.slug:
                problems.append(f"{term!r} claimed by {owner[term]} and {tag.slug}")
    return problems


def build_taxonomy(tags: Sequence[TagDef], rules: TaggingRules) -> Taxonomy:
    """Taxonomy from ready-made tags (for tests and callers that build tags in
    code); raises ``ValueError`` on conflicting tags."""
    return Taxonomy(tags, rules)


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# --------------------------------------------------------------------------
# Loading tags.yaml
# --------------------------------------------------------------------------


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _mapping_items(node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """Key text -> (key node, value node) for a YAML mapping node."""
    items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                items[str(key_node.value)] = (key_node, value_node)
    return items


def _compose(text: str) -> tuple[yaml.Node | None, Any, list[TaxonomyError]]:
    """Parse YAML keeping both the node tree (for line numbers) and the data."""
    # libyaml when available: the taxonomy is parsed in every worker process.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, None, [TaxonomyError(f"YAML syntax error: {exc}", line)]
    finally:
        loader.dispose()
    return node, data, []


def load_taxonomy(path: Path) -> tuple[Taxonomy, list[TaxonomyError]]:
    """Load and validate a taxonomy file.

    Never raises for bad content: every problem (YAML syntax, unknown or
    invalid settings, malformed entries, bad slug or kind, duplicate slug,
    alias claimed by two tags, exclusion that contains none of its tag's
    aliases) is reported as a :class:`TaxonomyError` with its line number and
    the offending entry, alias or setting is skipped.  An unreadable file
    yields an empty taxonomy and one error.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Taxonomy((), TaggingRules()), [TaxonomyError(f"cannot read {path}: {exc}")]
    return parse_taxonomy(text)


@functools.lru_cache(maxsize=4)
def parse_taxonomy(text: str) -> tuple[Taxonomy, list[TaxonomyError]]:
    """Like :func:`load_taxonomy`, from the file's text (worker processes get
    the text, not the path, so every process tags with the same taxonomy)."""
    root, data, errors = _compose(text)
    if errors:
        return Taxonomy((), TaggingRules()), errors
    if not isinstance(data, dict) or root is None:
        error = TaxonomyError("top level must be a mapping with 'settings' and 'tags'", _line(root))
        return Taxonomy((), TaggingRules()), [error]

    sections = _mapping_items(root)
    for key, (key_node, _) in sections.items():
        if key not in ("settings", "tags"):
            errors.append(TaxonomyError(f"unknown top-level key {key!r}", _line(key_node)))

    settings_node = sections.get("settings", (None, None))[1]
    rules = _load_rules(data.get("settings"), settings_node, errors)

    tags_node = sections.get("tags", (None, None))[1]
    raw_tags = data.get("tags")
    if not isinstance(raw_tags, list) or not isinstance(tags_node, yaml.SequenceNode):
        errors.append(TaxonomyError("'tags' must be a list", _line(tags_node or root)))
        return Taxonomy((), rules), errors

    tags = _load_tags(raw_tags, tags_node.value, errors)
    return Taxonomy(tags, rules), errors


def _load_rules(raw: Any, node: yaml.Node | None, errors: list[TaxonomyError]) -> TaggingRules:
    """TaggingRules defaults overridden by valid ``settings:`` values."""
    if raw is None:
        return TaggingRules()
    if not isinstance(raw, dict):
        errors.append(TaxonomyError("'settings' must be a mapping", _line(node)))
        return TaggingRules()
    known = {field.name for field in fields(TaggingRules)}
    nodes = _mapping_items(node) if node is not None else {}
    overrides: dict[str, Any] = {}
    for key, value in raw.items():
        line = _line(nodes[str(key)][0]) if str(key) in nodes else None
        problem = _rule_problem(str(key), value) if key in known else None
        if key not in known:
            errors.append(TaxonomyError(f"unknown setting {key!r}", line))
        elif problem:
            errors.append(TaxonomyError(f"setting {problem}; default kept", line))
        else:
            overrides[key] = value
    return TaggingRules(**overrides)


class _Claims:
    """Which tag owns each normalised surface form, across the whole file."""

    def __init__(self) -> None:
        self.owner: dict[str, str] = {}
        self.slugs: set[str] = set()


def _load_tags(
    raw_tags: list[Any], nodes: list[yaml.Node], errors: list[TaxonomyError]
) -> list[TagDef]:
    claims = _Claims()
    tags: list[TagDef] = []
    for raw, node in zip(raw_tags, nodes):
        tag = _load_tag(raw, node, claims, errors)
        if tag is not None:
            tags.append(tag)
            claims.slugs.add(tag.slug)
    return tags


def _load_tag(
    raw: Any, node: yaml.Node, claims: _Claims, errors: list[TaxonomyError]
) -> TagDef | None:
    """One validated TagDef, or None (with an error) if the entry is unusable.

    Clashing or malformed aliases and exclusions are dropped individually so
    one bad alias does not cost the whole tag.
    """
    line = _line(node)
    if not isinstance(raw, dict):
        errors.append(TaxonomyError("tag entry must be a mapping", line))
        return None
    items = _mapping_items(node)
    slug = raw.get("slug")
    label = slug if isinstance(slug, str) else "?"
    for key in raw:
        if key not in _TAG_KEYS:
            key_line = _line(items[str(key)][0]) if str(key) in items else line
            errors.append(TaxonomyError(f"tag {label}: unknown key {key!r}; ignored", key_line))

    required: dict[str, str] = {}
    for key in ("slug", "name", "en", "kind"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            errors.append(TaxonomyError(f"tag {label}: missing or empty {key!r}", line))
            return None
        required[key] = value.strip()
    slug = required["slug"]
    if not _SLUG_RE.match(slug):
        errors.append(TaxonomyError(f"tag {slug!r}: slug must be ASCII lower-case words joined by hyphens", line))
        return None
    if slug in claims.slugs:
        errors.append(TaxonomyError(f"duplicate slug {slug!r}; later entry skipped", line))
        return None
    if required["kind"] not in KINDS:
        errors.append(TaxonomyError(f"tag {slug}: kind {required['kind']!r} not one of {', '.join(KINDS)}", line))
        return None

    aliases = _string_list(raw, items, "aliases", slug, errors)
    excludes = _string_list(raw, items, "exclude", slug, errors)

    # Display and English names are surface forms too, so they are claimed first.
    kept_aliases: list[str] = []
    for term, term_line, is_alias in [
        (required["name"], line, False),
        (required["en"], line, False),
        *((alias, alias_line, True) for alias, alias_line in aliases),
    ]:
        key = normalise(term).strip()
        owner = claims.owner.get(key)
        if owner is not None and owner != slug:
            errors.append(TaxonomyError(f"tag {slug}: {term!r} already claimed by {owner}; ignored", term_line))
            if not is_alias:
                # The name itself clashes: keeping it would make the tag
                # match the other tag's mentions, so the tag is unusable.
                return None
            continue
        claims.owner[key] = slug
        if is_alias:
            kept_aliases.append(term)

    own_terms = [normalise(term).strip() for term in (required["name"], required["en"], *kept_aliases)]
    kept_excludes: list[str] = []
    for phrase, phrase_line in excludes:
        key = normalise(phrase).strip()
        if key in own_terms or not any(term in key for term in own_terms):
            errors.append(
                TaxonomyError(f"tag {slug}: exclusion {phrase!r} must be longer than and contain one of its aliases; ignored", phrase_line)
            )
            continue
        kept_excludes.append(phrase)

    return TagDef(
        slug=slug,
        name=required["name"],
        en=required["en"],
        kind=required["kind"],
        aliases=_dedupe(kept_aliases),
        exclude=_dedupe(kept_excludes),
    )


def _string_list(
    raw: dict[str, Any],
    items: dict[str, tuple[yaml.Node, yaml.Node]],
    key: str,
    slug: str,
    errors: list[TaxonomyError],
) -> list[tuple[str, int | None]]:
    """Non-empty strings of the optional list ``key`` with their line numbers."""
    value = raw.get(key)
    if value is None:
        return []
    key_node, value_node = items[key]
    if not isinstance(value, list) or not isinstance(value_node, yaml.SequenceNode):
        errors.append(TaxonomyError(f"tag {slug}: {key!r} must be a list", _line(key_node)))
        return []
    result: list[tuple[str, int | None]] = []
    for item, item_node in zip(value, value_node.value):
        if not isinstance(item, str) or not item.strip():
            errors.append(TaxonomyError(f"tag {slug}: {key} entry {item!r} is not a non-empty string; ignored", _line(item_node)))
            continue
        result.append((item.strip(), _line(item_node)))
    return result

"""RawDoc → Article: decide every field, or say precisely why the file can't be published.

Publication time, in order of trust:
1. the item's own date line in the body (`<div><i>RFC 822</i></div>`, the
   feed's pubDate; RFI writes `DD/MM/YYYY - HH:MM`, Paris time);
2. front matter `date` in Hexo and authored Markdown files (the feed's pubDate);
3. for feed markdown without a date line only: the Jekyll wrapper's `date`
   or the `<!--epoch-->` comment — both are the archiver's fetch time, minutes
   to hours late, so the article is published with a warning.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from generator import outlets
from generator.dates import DateParseError, from_epoch_ms, parse_date
from generator.models import Article, Outlet, RawDoc, ReadError
from generator.readers.common import list_field, text_field
from generator.sanitize import clean_inline_text, sanitize_body_with_text

# Image hosts that serve random stock photos when the archiver had no image.
PLACEHOLDER_IMAGE_HOSTS = ("picsum.photos", "placehold.co", "via.placeholder.com",
                           "placekitten.com", "dummyimage.com")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；])")
# CJK ideographs (Extension A, the unified block, compatibility ideographs):
# what reading time counts at the CJK rate.
_CJK_RANGES = ((0x3400, 0x9FFF), (0xF900, 0xFAFF))
_CJK = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES) + "]")
_VOA_ID = re.compile(r"/(\d{4,})\.html?$")
# Control characters never belong in a URL (and XML forbids most of them).
_URL_UNSAFE = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]")


@dataclass(frozen=True)
class NormalizeSettings:
    """The parts of Config that change how an article is read (part of cache keys)."""

    timezone: str
    summary_chars: int
    reading_chars_per_minute: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Normalized:
    article: Article
    body_html: str  # sanitised
    text: str  # plain text of the body, for tagging and scope


def normalize(raw: RawDoc, digest: str, settings: NormalizeSettings) -> Normalized:
    """Decide every field of the article; raise ReadError if it can't be published."""
    warnings = list(raw.warnings)
    title = clean_inline_text(raw.title)
    if not title:
        raise ReadError("missing title: add a 'title:' to the front matter (or the "
                        "'[title](url)' heading)", raw.line_of.get("title", 1))
    published = _published(raw, settings.zone, warnings)
    source_url = _safe_url(raw.source_url, "original link", warnings)
    lead_image = _lead_image(raw.lead_image, warnings)
    outlet = _outlet(raw, source_url)
    drop = frozenset(u for u in (raw.lead_image, lead_image) if u)
    # The text comes with the HTML: one parse of the body, not a second one here.
    body_html, text = sanitize_body_with_text(raw.body_html, drop)
    if not text.strip():
        raise ReadError("empty body: the file has a title but no article text; "
                        "re-scrape it or delete it", raw.line_of.get("body"))
    uid = article_uid(source_url, outlet, title, published, settings.zone)
    article = Article(
        uid=uid,
        slug=article_slug(uid, source_url, outlet),
        rel_path=raw.rel_path,
        digest=digest,
        format=raw.format,
        title=title,
        source_url=source_url,
        outlet=outlet,
        published=published,
        author=_author(raw, outlet),
        lead_image=lead_image,
        lead_caption=clean_inline_text(raw.lead_caption) if raw.lead_caption else None,
        summary=summarize(text, settings.summary_chars),
        reading_minutes=reading_minutes(text, settings.reading_chars_per_minute),
        declared_tags=_declared_tags(raw, outlet),
        warnings=tuple(warnings),
        text_chars=len(text),
        local_month=_local_month(published, settings.zone),
    )
    return Normalized(article, body_html, text)


def _local_month(published: datetime, zone: ZoneInfo) -> tuple[int, int]:
    when = published.astimezone(zone)
    return when.year, when.month


def _published(raw: RawDoc, zone: ZoneInfo, warnings: list[str]) -> datetime:
    if raw.feed_date:
        return _parse(raw.feed_date, "the date line", raw.line_of.get("body"), zone, warnings)
    fm_date = raw.front_matter.get("date")
    line = raw.line_of.get("date")
    if raw.format != "feed-markdown":
        if fm_date is None or (isinstance(fm_date, str) and not fm_date.strip()):
            raise ReadError("missing 'date:' in the front matter: add the publication time, "
                            "e.g. 'date: Sat, 22 Jan 2022 12:16:05 GMT'", raw.line_of.get(
                                "title", 1))
        return _parse(fm_date, "'date:'", line, zone, warnings)
    if fm_date is not None:
        value = _parse(fm_date, "'date:'", line, zone, warnings)
        warnings.append("no publication date line in the item; used the wrapper's 'date:', "
                        "which is the archiver's fetch time and may be hours late")
        return value
    if raw.archived_ms is not None:
        try:
            value = from_epoch_ms(raw.archived_ms)
        except DateParseError as exc:
            raise ReadError(f"the <!--epoch--> comment is not a usable time: {exc}", 1) from exc
        warnings.append("no publication date line in the item; used the archiver's "
                        "<!--epoch--> fetch time, which may be hours late")
        return value
    raise ReadError("no publication time: the item has no date line, no 'date:' and no "
                    "<!--epoch--> comment; add 'date:' in a front matter block", 1)


def _parse(value: object, what: str, line: int | None, zone: ZoneInfo,
           warnings: list[str]) -> datetime:
    try:
        parsed, had_zone = parse_date(value, zone)
    except DateParseError as exc:
        raise ReadError(f"{what} {value!s:.60} is not a usable publication time ({exc}); "
                        "write it as 'Sat, 22 Jan 2022 12:16:05 GMT' or "
                        "'2022-01-22T12:16:05Z'", line) from exc
    if not had_zone and not _is_dmy(value):
        warnings.append(f"{what} has no time zone; read it as {zone.key}")
    return parsed


def _is_dmy(value: object) -> bool:
    return isinstance(value, str) and bool(re.match(r"^\d{1,2}/\d{1,2}/\d{4}", value.strip()))


def _safe_url(url: str | None, what: str, warnings: list[str]) -> str | None:
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[x": an unclosed IPv6 bracket
        parts = None
    if parts is None or _URL_UNSAFE.search(url):
        warnings.append(f"{what} {url[:80]!r} is not a valid URL; left out")
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        warnings.append(f"{what} {url[:80]!r} is not an http(s) URL; left out")
        return None
    return urlunsplit(parts)


def _lead_image(url: str | None, warnings: list[str]) -> str | None:
    safe = _safe_url(url, "lead image", warnings)
    if safe and (urlsplit(safe).hostname or "").endswith(PLACEHOLDER_IMAGE_HOSTS):
        return None  # a random stock photo is not this article's picture
    return safe


def _outlet(raw: RawDoc, source_url: str | None) -> Outlet:
    fm = raw.front_matter
    names = [text_field(fm, "author"), text_field(fm, "outlet"), *list_field(fm, "categories"),
             *list_field(fm, "tags")]
    return outlets.detect_outlet([source_url, raw.lead_image, text_field(fm, "headimg")], names)


def _author(raw: RawDoc, outlet: Outlet) -> str | None:
    author = text_field(raw.front_matter, "author")
    if author is None:
        return None
    return clean_inline_text(author) or None


def _declared_tags(raw: RawDoc, outlet: Outlet) -> tuple[str, ...]:
    """Hand-written tags, minus the outlet's own name that archivers put there."""
    if raw.format == "hexo":
        return ()  # Hexo 'categories' are the archiver's source categories, not topics
    outlet_names = {outlet.name.lower(), outlet.key}
    tags = list_field(raw.front_matter, "tags")
    return tuple(t for t in tags if t.lower() not in outlet_names
                 and outlets.detect_outlet([], [t]) is outlets.OTHER)


def article_uid(source_url: str | None, outlet: Outlet, title: str, published: datetime,
                zone: ZoneInfo) -> str:
    """The article's identity: its canonical original URL, else outlet + day + title."""
    if source_url:
        parts = urlsplit(source_url)
        path = parts.path.rstrip("/") or "/"
        return urlunsplit(("https", parts.netloc.lower(), path, parts.query, ""))
    day = published.astimezone(zone).date().isoformat()
    return f"{outlet.key}|{day}|{' '.join(title.split())}"


def article_slug(uid: str, source_url: str | None, outlet: Outlet) -> str:
    """ASCII slug from the identity: VOA's numeric article id when there is one,
    else a short hash. Never from the file name, so renames keep the URL."""
    if source_url:
        match = _VOA_ID.search(urlsplit(source_url).path)
        if match and outlet is outlets.VOA:
            return f"voa-{match.group(1)}"
    digest = hashlib.sha1(uid.encode("utf-8")).hexdigest()[:12]
    return f"{outlet.key}-{digest}"


def summarize(text: str, limit: int) -> str:
    """The first sentences of the text, at most `limit` characters."""
    # Only the first limit + 1 characters decide: the sentence that reaches
    # past them ends the summary whatever its full length. A whole article
    # need not be joined and split for 120 characters.
    flat = _join_lines(text, limit + 1)
    summary = ""
    for sentence in _SENTENCE_END.split(flat[: limit + 1]):
        if len(summary) + len(sentence) > limit:
            break
        summary += sentence
    if not summary:
        summary = flat[: limit - 1] + ("…" if len(flat) >= limit else "")
    return summary.strip()


def _join_lines(text: str, enough: int) -> str:
    """One line of text; no space is put between two lines of Chinese. Stops
    once `enough` characters are joined: the result is then a prefix of the
    whole, at least that long."""
    out = ""
    for line in text.splitlines():
        if len(out) >= enough:
            break
        line = " ".join(line.split())
        if not line:
            continue
        if out and not (_CJK.match(out[-1]) or out[-1] in "。！？；：，、”」）") :
            out += " "
        out += line
    return out


def reading_minutes(text: str, cjk_per_minute: int) -> int:
    """Reading time: CJK characters at `cjk_per_minute`, Latin words at 200/min."""
    cjk = _count_cjk(text)
    words = _count_latin_words(text)
    return max(1, round(cjk / cjk_per_minute + words / 200))


def _high_bytes(ranges: tuple[tuple[int, int], ...]) -> bytes:
    """The high bytes of the UTF-16 code units in `ranges`, which must be
    whole blocks of 256 within the BMP."""
    assert all(lo % 256 == 0 and hi % 256 == 255 and hi < 0x10000 for lo, hi in ranges)
    return bytes(high for lo, hi in ranges for high in range(lo >> 8, (hi >> 8) + 1))


_CJK_HIGH_BYTES = _high_bytes(_CJK_RANGES)


def _count_cjk(text: str) -> int:
    """How many characters of `text` are in _CJK_RANGES. The ranges are whole
    blocks of 256 code points in the BMP, so a character is in them exactly
    when it is one UTF-16 code unit whose high byte is one of theirs; counting
    those bytes is done in C (bytes.translate), where a regex made one match
    per character and NumPy several passes. Astral characters become two
    surrogate units, and surrogatepass lets a lone surrogate through: their
    high bytes (0xD8-0xDF) are not CJK."""
    high = text.encode("utf-16-le", "surrogatepass")[1::2]
    return len(high) - len(high.translate(None, _CJK_HIGH_BYTES))


def _word_classes() -> bytes:
    """A bytes.translate table: ASCII letters and digits to "a", the joiners
    "-" and "'" to "-", every other byte to a space."""
    table = bytearray(b" " * 256)
    for char in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789":
        table[char] = ord("a")
    table[ord("-")] = table[ord("'")] = ord("-")
    return bytes(table)


_WORD_CLASSES = _word_classes()
# A Latin word for reading time is a match of [A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*:
# letters and digits joined by single hyphens or apostrophes ("Zelensky's",
# "T-72"). This is that regex over the classes; it starts with a literal, which
# the regex engine finds with a fast search, where the character class made it
# try every position of the text.
_WORD_CLASS_RUN = re.compile(rb"aa*(?:-aa*)*")


def _count_latin_words(text: str) -> int:
    """How many Latin words `text` has, counted on its characters' classes.
    Encoding to ASCII with "replace" keeps one byte per character (a
    non-ASCII one, never part of a word, becomes "?"), so the matches are
    those of the word regex on the text, position for position."""
    classes = text.encode("ascii", "replace").translate(_WORD_CLASSES)
    return len(_WORD_CLASS_RUN.findall(classes))

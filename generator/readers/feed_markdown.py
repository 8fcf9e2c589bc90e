"""Feed markdown, as RSS archivers write Voice of America (and other) items.

    <!--1726069142000-->                     archiver's fetch time, ms since epoch
    [title](https://original/url)            setext heading: the item title and link
    ------
    <div><i>Wed, 11 Sep 2024 15:37:24 GMT</i></div>   the item's pubDate
    <img src="..."><div><small>caption</small></div>  lead image and caption
    <p>...</p>                                the item's HTML
    <br><hr><div>获取更多RSS：...</div>        the archiver's footer

The same body may sit under a Jekyll front matter (title/date/author/from/
tags/categories); its `date` is the fetch time again, not the publication.
"""

from __future__ import annotations

import html
import re
from typing import NamedTuple

from generator.models import RawDoc, ReadError
from generator.readers.common import list_field, text_field
from generator.readers.source import Source

FORMAT = "feed-markdown"

_EPOCH = re.compile(r"\A\s*<!--\s*(\d{9,14})\s*-->[ \t]*\n")
_HEADING = re.compile(r"\A\s*\[(?P<title>.*)\]\((?P<url>[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)"
                      r"[ \t]*\n-{3,}[ \t]*\n", re.DOTALL)
# _HEADING in two parts (see _heading): where the title starts, and what must
# follow it.
_TITLE_START = re.compile(r"\A\s*\[")
_AFTER_TITLE = re.compile(r"\]\((?P<url>[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)"
                          r"[ \t]*\n-{3,}[ \t]*\n")
_HEADING_LINE = re.compile(r"\A\s*\[.*\]\(.*\)[ \t]*\n-{3,}[ \t]*\n")
# The item's own date line: RFC 822 inside <i> (VOA), or "DD/MM/YYYY - HH:MM" (RFI).
_DATE_LINE = re.compile(
    r"\A\s*(?P<outer><div>\s*(?=<div>))?<div>\s*(?:<i>\s*(?P<rfc>[^<]{6,80}?)\s*</i>"
    r"|(?P<dmy>\d{1,2}/\d{1,2}/\d{4}\s*-\s*\d{1,2}:\d{2}))\s*</div>", re.IGNORECASE)
_LEAD_IMAGE = re.compile(r"\A\s*<img\b[^>]*?\bsrc\s*=\s*[\"'](?P<src>[^\"']+)[\"'][^>]*>",
                         re.IGNORECASE)
_CAPTION = re.compile(r"\A\s*<div>\s*<small\b[^>]*>(?P<caption>.*?)</small>\s*</div>",
                      re.IGNORECASE | re.DOTALL)
# Not "<[^>]*>": from every "<" that rescans to the next ">", quadratic on a
# caption of 50,000 "<!--" (12 s). nh3 strips whatever this leaves anyway.
_TAG = re.compile(r"<[^<>]*>")


def matches(source: Source) -> bool:
    body = source.body
    return bool(_EPOCH.match(body) or _HEADING_LINE.match(body))


def read(source: Source) -> RawDoc:
    body, line = source.body, source.body_line
    archived_ms = None
    epoch = _EPOCH.match(body)
    if epoch:
        archived_ms = int(epoch.group(1))
        line += 1
        body = body[epoch.end():]
    heading = _heading(body)
    if heading is None:
        raise ReadError("expected the '[title](url)' line underlined with '------' after the "
                        "<!--epoch--> comment", line)
    title = html.unescape(heading.title).strip()
    url = heading.url.strip() or None
    heading_line = line
    rest = body[heading.end:]
    fields = _split_head(rest)
    fm = source.front_matter
    front = fm.data if fm else {}
    return RawDoc(
        rel_path=source.rel_path,
        format=FORMAT,
        title=title or (text_field(front, "title") or ""),
        body_html=fields["body"] or "",
        source_url=url or text_field(front, "from"),
        front_matter=front,
        feed_date=fields["date"],
        archived_ms=archived_ms,
        lead_image=fields["image"],
        lead_caption=fields["caption"],
        line_of={**(fm.field_lines if fm else {}), "title": heading_line,
                 "body": heading_line + 2},
        warnings=(),
    )


class _Heading(NamedTuple):
    title: str
    url: str
    end: int  # where the heading's underline ends


def _heading(body: str) -> _Heading | None:
    """What _HEADING.match(body) finds, without its cost: its greedy title
    runs to the end of the body and gives back one character at a time
    until the rest matches (≈30 µs on an article). The title ends at a
    "](" that _AFTER_TITLE matches from, the last one as greedy matching
    gives: those are tried from the end, each found by one rfind."""
    start = _TITLE_START.match(body)  # "\s*" then "[": no other way to match
    if start is None:
        return None
    end = len(body)
    while True:
        end = body.rfind("](", start.end(), end + 1)
        if end < 0:
            return None
        rest = _AFTER_TITLE.match(body, end)
        if rest is not None:
            return _Heading(body[start.end():end], rest.group("url"), rest.end())


def _split_head(rest: str) -> dict[str, str | None]:
    """Peel the date line, lead image and caption off the front of the body."""
    out: dict[str, str | None] = {"date": None, "image": None, "caption": None}
    unwrapped = False
    date = _DATE_LINE.match(rest)
    if date:
        out["date"] = html.unescape(date.group("rfc") or date.group("dmy")).strip()
        unwrapped = date.group("outer") is not None
        rest = rest[date.end():]
    image = _LEAD_IMAGE.match(rest)
    if image:
        out["image"] = html.unescape(image.group("src"))
        rest = rest[image.end():]
        caption = _CAPTION.match(rest)
        if caption:
            text = html.unescape(_TAG.sub("", caption.group("caption"))).strip()
            out["caption"] = text or None
            rest = rest[caption.end():]
    if unwrapped:
        # The outer <div> opened before the date line is closed at the end.
        rest = re.sub(r"</div>\s*\Z", "", rest)
    out["body"] = rest.strip()
    return out


def declared_tags(front: dict) -> tuple[str, ...]:
    """Tags the archiver wrote in a Jekyll wrapper (usually just the outlet name)."""
    return list_field(front, "tags")

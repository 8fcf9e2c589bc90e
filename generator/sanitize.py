"""Allow-list cleaning of scraped HTML bodies.

Scraped HTML is untrusted. nh3 (the Ammonia sanitizer) keeps only the tags,
attributes and URL schemes listed here, drops scripts, styles, frames, forms
and event handlers with their content, and adds rel="noopener noreferrer" to
links. A small lxml pass then tidies what feeds leave behind: the archiver's
RSS footer, the lead image repeated in the body, <br><br> used as paragraph
breaks, and empty wrappers.
"""

from __future__ import annotations

import html as htmllib
import re
import threading
from typing import NamedTuple

import nh3
from lxml import etree, html as lxml_html

from generator.models import ReadError

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "del", "div", "em",
    "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol",
    "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}
# Removed together with everything inside them.
DROPPED_WITH_CONTENT = {
    "script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math",
    "form", "textarea", "select", "button", "applet", "frameset", "frame", "noembed",
    "title", "head", "video", "audio",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "abbr": {"title"},
}
IMAGE_ATTRIBUTES = {"loading": "lazy", "decoding": "async", "referrerpolicy": "no-referrer"}

# The archiver's footer: "<br><hr><div>获取更多RSS：<br><a ...>...</a>...</div>".
# Found by its start and the next </div>; the <br>s before it are trimmed from
# the end. (One regex with a leading (<br>)* took quadratic time on a body made
# of thousands of <br>: it retried from every one of them.)
_FOOTER_START = re.compile(r"<hr\s*/?>\s*<div>\s*获取更多RSS[：:]", re.IGNORECASE)
_DIV_END = re.compile(r"</div>", re.IGNORECASE)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# Characters XML 1.0 forbids (the Atom feed carries titles and bodies) and that
# mean nothing in HTML: C0 controls other than tab/newline/CR, DEL, U+FFFE/U+FFFF;
# and stray byte-order marks, which a parser drops only at the start of a text.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\ufffe\uffff]")
# How every numeric character reference starts ("&#5;", "&#x7f;").
NUMERIC_REFERENCE = "&#"
# html5ever (inside nh3) walks the stack of open elements for every block-level
# tag, so its time grows with nesting depth × tag count: 100,000 nested <div>
# took minutes. Real articles nest fewer than 50 deep; deeper is refused.
MAX_NESTING = 512
_TAG_OPEN_CLOSE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
# Elements that never stay open inside themselves (void, or closed by a sibling).
_NOT_NESTING = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th",
    "thead", "tbody", "tfoot", "rb", "rt", "rp", "rtc", "colgroup", "caption"})
_DIMENSION = re.compile(r"^\d{1,5}$")
MAX_ANGLE_BRACKETS = 64  # in a title or alt attribute; more is not a tooltip
_URL_IGNORED = re.compile("[\t\n\r]")
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_SCHEME_WITHOUT_HOST = re.compile(r"^[\x00-\x20]*https?:(?![\x00-\x20]*[/\\]{2})", re.IGNORECASE)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # width="100%" is invalid HTML and fights the stylesheet: keep pixel sizes only.
    if attribute in ("width", "height"):
        return value if _DIMENSION.match(value) else None
    if attribute in ("href", "src"):
        # As a browser reads a URL: without tabs and newlines, and without leading
        # or trailing spaces and controls. (libxml2 would write them as %0A, which
        # makes "h\nttp://x" a relative URL.)
        value = _URL_IGNORED.sub("", value).strip(_C0_AND_SPACE)
        # "http:/x" and "https:x" pass nh3's scheme check, but a browser resolves
        # them against the page, like the relative URLs url_relative="deny" refuses.
        if _SCHEME_WITHOUT_HOST.match(value):
            return None
        # libxml2 (in _tidy) takes time quadratic in the number of '<' in an
        # attribute when it serializes it: 80 KB of them took seconds. A URL means
        # the same with them percent-encoded, as browsers send them.
        return value.replace("<", "%3C").replace(">", "%3E")
    if value.count("<") + value.count(">") > MAX_ANGLE_BRACKETS:
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags=DROPPED_WITH_CONTENT,
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer",
    set_tag_attribute_values={"img": IMAGE_ATTRIBUTES},
    strip_comments=True,
)


def strip_feed_footer(body: str) -> str:
    """Remove the archiver's 'more RSS' footer (it advertises mirrors, not news)."""
    parts: list[str] = []
    pos = 0
    while True:
        start = _FOOTER_START.search(body, pos)
        if start is None:
            break
        end = _DIV_END.search(body, start.end())
        if end is None:
            break  # no </div> after this start, so none after any later one either
        parts.append(_without_trailing_breaks(body, pos, start.start()))
        pos = end.end()
    parts.append(body[pos:])
    return "".join(parts)


def _without_trailing_breaks(text: str, start: int, end: int) -> str:
    """text[start:end] without the <br>s (and the spaces between them) it ends with."""
    cut = end
    while True:
        stop = cut
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        opening = text.rfind("<", start, stop)
        if opening < 0 or _BREAK.fullmatch(text, opening, stop) is None:
            return text[start:cut]
        cut = opening


def check_nesting(body: str) -> None:
    """Raise ReadError when elements nest deeper than MAX_NESTING (an estimate
    from the tags alone, linear in the body's length)."""
    if body.count("<") <= MAX_NESTING:
        return
    depth = deepest = 0
    for match in _TAG_OPEN_CLOSE.finditer(body):
        if match.group(2).lower() in _NOT_NESTING:
            continue
        if match.group(1):
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    if deepest > MAX_NESTING:
        raise ReadError(f"the HTML nests elements about {deepest} deep (more than "
                        f"{MAX_NESTING}): this is not an article's markup; re-scrape it")


_LOCAL = threading.local()


def _parser() -> etree.HTMLParser:
    """libxml2's HTML parser without its safety limits (10 MB per text node,
    256 levels): with them a long body came back silently empty. nh3 has already
    bounded what reaches it. One per thread: lxml parsers are not shareable.
    The plain etree parser, not lxml.html's: that one calls a Python class
    lookup for every element proxy, a large share of tidying, and nothing here
    needs lxml.html's element methods."""
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = etree.HTMLParser(huge_tree=True)
    return parser


class Sanitized(NamedTuple):
    html: str  # safe, tidy HTML
    text: str  # its plain text, exactly as html_to_text(html) gives it


def sanitize_body(body: str, drop_images: frozenset[str] = frozenset()) -> str:
    """Return safe, tidy HTML for an untrusted body.

    `drop_images` are image URLs already shown as the lead image.
    """
    return sanitize_body_with_text(body, drop_images).html


def sanitize_body_with_text(body: str, drop_images: frozenset[str] = frozenset()) -> Sanitized:
    """sanitize_body and the plain text of its result, from one parse."""
    body = CONTROL_CHARS.sub("", body)
    check_nesting(body)
    body = strip_feed_footer(body)  # may join an "&" and a "#" it had between them
    cleaned = _CLEANER.clean(body)
    if NUMERIC_REFERENCE in body:
        # Again after: a character reference such as &#5; is decoded by the parser.
        # Only a numeric one can give these characters (no named reference
        # stands for one), and without one nh3's output has none of them:
        # its text and attributes come from the body, its markup is ASCII.
        cleaned = CONTROL_CHARS.sub("", cleaned)
    if not cleaned.strip():
        return Sanitized("", "")
    return _tidy(cleaned, drop_images)


def clean_inline_text(value: str) -> str:
    """Plain text from a string that may carry HTML (titles, captions).
    Raises ReadError for absurdly nested markup, as sanitize_body does."""
    value = CONTROL_CHARS.sub("", value)
    if "<" in value or "&" in value:
        return _markup_to_text(value)
    # Without a tag or a character reference (and without NUL, removed above)
    # nh3 gives the text back but for CR made LF and '>' and U+00A0 escaped,
    # which the split and unescape undo: the same result without its parse,
    # most of the cost of a title. Like nh3, refuse a lone surrogate.
    value.encode("utf-8")
    return " ".join(value.split())


def _markup_to_text(value: str) -> str:
    """clean_inline_text of a value without control characters, by nh3."""
    check_nesting(value)
    text = nh3.clean(value, tags=set())
    return " ".join(CONTROL_CHARS.sub("", htmllib.unescape(text)).split())


# lxml.html.fragment_fromstring parses these as a whole document, not a fragment.
_FULL_DOCUMENT = re.compile(r"^\s*<(?:html|!doctype)", re.IGNORECASE)
# Only a <p> with two <br> children can hold a run of breaks to split at; XPath
# finds them (and the elements with attributes to sort) in C, in document order.
_PARAGRAPHS_WITH_BREAKS = etree.XPath("descendant-or-self::p[br[2]]")
_WITH_ATTRIBUTES = etree.XPath("descendant-or-self::*[@*[2]]")
_STRING_VALUE = etree.XPath("string()")  # what lxml.html's text_content() runs
# libxml2 writes an <li> with no content at all as "<li>", without its end
# tag, so what follows it is inside it when the HTML is parsed again.
_EMPTY_LIST_ITEMS = etree.XPath("descendant::li[not(node())]")
_TEXT_BLOCKS = ("p", "div", "h2", "h3", "h4", "h5", "h6", "li", "tr", "blockquote")


def _fragment(markup: str) -> etree._Element:
    """Parse `markup` as lxml.html.fragment_fromstring(markup, create_parent=
    "div") does, with the plain parser, and return the parsed <body> as the
    container instead of a new <div> (whitespace-only leading text dropped,
    as there)."""
    if _FULL_DOCUMENT.match(markup):  # never after nh3, which escapes '<' in text
        return lxml_html.fragment_fromstring(markup, create_parent="div", parser=_parser())
    document = etree.fromstring(f"<html><body>{markup}</body></html>", _parser())
    bodies = [child for child in document if child.tag == "body"]
    if len(bodies) != 1:  # lxml.html fails an assertion here: keep its behaviour
        return lxml_html.fragment_fromstring(markup, create_parent="div", parser=_parser())
    body = bodies[0]
    if body.text is not None and not body.text.strip():
        body.text = None
    return body


def _tidy(cleaned: str, drop_images: frozenset[str]) -> Sanitized:
    """nh3's output tidied, as HTML and as text."""
    root = _fragment(cleaned)
    for img in list(root.iter("img")):
        if not img.get("src") or img.get("src") in drop_images:
            _remove_keep_tail(img)
        elif img.get("alt") is None:
            img.set("alt", "")  # scraped body images are illustrations, not content
    for p in _PARAGRAPHS_WITH_BREAKS(root):
        _split_double_breaks(p)
    for el in _WITH_ATTRIBUTES(root):
        _sort_attributes(el)
    _drop_empty(root)
    _unwrap_lone_div(root)
    html = _inner_html(root)
    if _EMPTY_LIST_ITEMS(root):
        # `html` does not parse back to this tree; the text must be that of `html`.
        return Sanitized(html, html_to_text(html))
    # Otherwise parsing `html` gives this tree back (but for whitespace at its
    # ends, which the text drops), so the text is taken from here instead of
    # from a second parse; the newlines that adds go in after serializing.
    return Sanitized(html, _plain_text(root))


def _inner_html(root: etree._Element) -> str:
    """The container's content as HTML, stripped. One serialization of the
    container, cut to its content: libxml2 escapes text as html.escape(...,
    quote=False) does, except a carriage return (&#13;), so the container's own
    text is escaped here when it has one."""
    if root.text and "\r" in root.text:
        parts = [etree.tostring(child, encoding="unicode", method="html") for child in root]
        head = htmllib.escape(root.text, quote=False)
        return (head + "".join(parts)).strip()
    whole = etree.tostring(root, encoding="unicode", method="html", with_tail=False)
    return whole[len(root.tag) + 2: -(len(root.tag) + 3)].strip()


def _sort_attributes(el: etree._Element) -> None:
    """nh3 adds attributes in hash-map order, which changes between runs;
    a fixed order keeps the output byte-identical from build to build."""
    keys = el.keys()
    if len(keys) > 1 and keys != sorted(keys):
        items = sorted(el.items())
        el.attrib.clear()
        for key, value in items:
            el.set(key, value)


def _remove_keep_tail(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail or ""
    prev = el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(el)


def _split_double_breaks(p: etree._Element) -> None:
    """Turn <p>a<br><br>b</p> (how VOA marks paragraphs) into <p>a</p><p>b</p>.

    The first piece is `p` itself, stripped of its attributes as a new <p>
    would be: what precedes the first run stays where it is, and only the
    later pieces are made and filled."""
    children = list(p)
    runs = _break_runs(children)
    if not runs:
        return
    if p.getparent() is None:
        return
    tail = p.tail
    p.tail = None  # the last piece's; addnext puts a sibling after the tail
    p.attrib.clear()
    piece = p
    index = 0
    while index < len(children):
        run = runs.get(index)
        if run:
            for br in children[index:index + run - 1]:
                p.remove(br)  # with its tail: whitespace
            following = p.makeelement("p")
            _take_tail_as_text(following, children[index + run - 1])
            piece.addnext(following)
            piece = following
            index += run
            continue
        if piece is not p:
            piece.append(children[index])
        index += 1
    piece.tail = tail


def _take_tail_as_text(empty: etree._Element, br: etree._Element) -> None:
    """Make `br`'s tail (the next piece's text) the text of the childless
    `empty`, and drop `br`. The text node is moved in C: reading the tail
    and setting it as text decoded and encoded a whole paragraph."""
    empty.append(br)  # with its tail, then the only content after it
    etree.strip_tags(empty, "br")


def _break_runs(children: list[etree._Element]) -> dict[int, int]:
    """Start index → length of each run of 2+ <br> with only whitespace between."""
    runs: dict[int, int] = {}
    index = 0
    while index < len(children):
        length = 0
        while (index + length < len(children) and children[index + length].tag == "br"
               and (length == 0 or not (children[index + length - 1].tail or "").strip())):
            length += 1
        # A run counts only when the breaks are separated by whitespace alone.
        if length >= 2:
            runs[index] = length
            index += length
        else:
            index += 1
    return runs


def _drop_empty(root: etree._Element) -> None:
    """Remove wrappers with no text and no children, and paragraphs of only
    <br>s; innermost first, so a wrapper of removed ones goes too."""
    for el in reversed(list(root.iter("p", "div", "span", "strong", "em", "small"))):
        text = el.text  # _blank(el.text), inline: this runs for every wrapper
        if (text and not text.isspace()) or el is root:
            continue
        if not len(el) or (el.tag == "p" and all(c.tag == "br" and _blank(c.tail) for c in el)):
            _remove_keep_tail(el)


def _blank(text: str | None) -> bool:
    """True for None and whitespace (what str.strip() removes)."""
    return not text or text.isspace()


def _unwrap_lone_div(root: etree._Element) -> None:
    """Hexo bodies wrap everything in one <div>; the page already has a container."""
    if len(root) == 1 and root[0].tag == "div" and not (root.text or "").strip() \
            and not (root[0].tail or "").strip():
        inner = root[0]
        root.text = inner.text
        root.remove(inner)
        for child in list(inner):
            root.append(child)


def html_to_text(safe_html: str) -> str:
    """Plain text of sanitized HTML, one paragraph per line."""
    if not safe_html:
        return ""
    return _plain_text(_fragment(safe_html))


def _plain_text(root: etree._Element) -> str:
    """The text of `root`, one paragraph per line. Adds a newline to the tail
    of every <br> and text block in the tree."""
    for element in root.iter("br", *_TEXT_BLOCKS):  # one walk, not one per kind
        element.tail = "\n" + (element.tail or "")
    text = _STRING_VALUE(root)
    # Each line with its whitespace runs made one space and its ends trimmed,
    # blank lines dropped. map and filter run the loops in C, where two
    # generator expressions ran Python code for every line.
    lines = map(" ".join, map(str.split, text.splitlines()))
    return "\n".join(filter(None, lines))

"""The parse stage's shortcuts give what the slow paths they skip give.

Each shortcut in reading, sanitizing and tagging (and in how parse workers
hand outcomes to the build) is held equal here to the plain code it
replaced, kept below as the reference, on hostile input (Hypothesis).
"""

from __future__ import annotations

import html.entities
import re
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from generator import sanitize
from generator.cache import open_cache
from generator.models import ReadError
from generator.parse import pack, unpack
from generator.readers import common, feed_markdown
from generator.sanitize import CONTROL_CHARS, NUMERIC_REFERENCE, sanitize_body_with_text
from generator.tagging import TagDef, TaggingRules, build_taxonomy
from tests.conftest import SETTINGS, parse_fixture
from tests.test_properties import CJK, PRINTABLE, SCALE, html_fragments

MANY = settings(max_examples=300 * SCALE, deadline=None)


# -- sanitizing --------------------------------------------------------------------
def test_no_named_character_reference_stands_for_a_control_character() -> None:
    """Why only a numeric reference can put one into nh3's output."""
    assert not [name for name, text in html.entities.html5.items() if CONTROL_CHARS.search(text)]


@MANY
@given(html_fragments())
@example("&<hr><div>获取更多RSS：x</div>#5;")  # the footer's removal joins "&" and "#5;"
@example('<a title="&#5;" href="https://a.example/&#x7f;">&#65279;&#xFFFE;</a>')
def test_nh3_output_has_control_characters_only_from_numeric_references(body: str) -> None:
    stripped = sanitize.strip_feed_footer(CONTROL_CHARS.sub("", body))
    if NUMERIC_REFERENCE not in stripped:
        assert not CONTROL_CHARS.search(sanitize._CLEANER.clean(stripped))


def _reference_sanitize(body: str, drop: frozenset[str]) -> sanitize.Sanitized:
    """sanitize_body_with_text as it was: control characters removed after
    nh3 every time, paragraphs split into new <p>s, text marked in two walks."""
    body = CONTROL_CHARS.sub("", body)
    sanitize.check_nesting(body)
    cleaned = CONTROL_CHARS.sub("", sanitize._CLEANER.clean(sanitize.strip_feed_footer(body)))
    if not cleaned.strip():
        return sanitize.Sanitized("", "")
    root = sanitize._fragment(cleaned)
    for img in list(root.iter("img")):
        if not img.get("src") or img.get("src") in drop:
            sanitize._remove_keep_tail(img)
        elif img.get("alt") is None:
            img.set("alt", "")
    for p in sanitize._PARAGRAPHS_WITH_BREAKS(root):
        _reference_split_double_breaks(p)
    for el in sanitize._WITH_ATTRIBUTES(root):
        sanitize._sort_attributes(el)
    sanitize._drop_empty(root)
    sanitize._unwrap_lone_div(root)
    html_text = sanitize._inner_html(root)
    if sanitize._EMPTY_LIST_ITEMS(root):
        return sanitize.Sanitized(html_text, _reference_plain_text(sanitize._fragment(html_text)))
    return sanitize.Sanitized(html_text, _reference_plain_text(root))


def _reference_split_double_breaks(p: etree._Element) -> None:
    runs = sanitize._break_runs(list(p))
    if not runs:
        return
    pieces: list[etree._Element] = []
    current = p.makeelement("p")
    current.text = p.text
    children = list(p)
    index = 0
    while index < len(children):
        child = children[index]
        run = runs.get(index)
        if run:
            pieces.append(current)
            current = p.makeelement("p")
            current.text = children[index + run - 1].tail
            index += run
            continue
        current.append(child)
        index += 1
    pieces.append(current)
    parent = p.getparent()
    if parent is None:
        return
    position = parent.index(p)
    tail = p.tail
    parent.remove(p)
    for offset, piece in enumerate(pieces):
        parent.insert(position + offset, piece)
    pieces[-1].tail = tail


def _reference_plain_text(root: etree._Element) -> str:
    if root is None:
        return ""
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for block in root.iter(*sanitize._TEXT_BLOCKS):
        block.tail = "\n" + (block.tail or "")
    text = sanitize._STRING_VALUE(root)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


BREAKY_HTML = st.lists(st.sampled_from([
    "<p>", "</p>", "<br>", "<br/>", " ", "\u3000", "\n", "a", "文", "<b>", "</b>", "<span>",
    "</span>", "<p title='t'>", "<div>", "</div>", "<li>", "<table><tr><td>", "<img src=x>",
    "<a href='https://a.example/'>", "</a>", "&#5;", "&nbsp;", "<br> <br>", "<br>\u3000<br>",
]), max_size=40).map("".join)


@MANY
@given(html_fragments() | BREAKY_HTML)
@example("<p>a<br><br>b<br> <br><i>c</i>d<br><br></p>e")
@example("<p title='t'><b>x</b><br><br>y</p>")
@example("<table><tr><td><p>a<br><br>b</p></td></tr></table>")
def test_sanitizing_gives_what_the_plain_passes_give(body: str) -> None:
    drop = frozenset({"https://img.example.com/a.jpg"})
    assert sanitize_body_with_text(body, drop) == _reference_sanitize(body, drop)


# -- front matter -------------------------------------------------------------------
def _front_matter(yaml_text: str) -> tuple[Any, ...]:
    """parse_yaml's result, or the ReadError it raises, as comparable values."""
    try:
        data, lines = common.parse_yaml(yaml_text, 3)
    except ReadError as exc:
        return ("error", exc.reason, exc.line)
    return ("read", repr(data), lines)  # repr: NaN is not equal to itself


def _front_matter_by_pyyaml(yaml_text: str) -> tuple[Any, ...]:
    """The same with PyYAML's constructor building every document."""
    with mock.patch.object(common, "_construct",
                           lambda loader, node: loader.construct_document(node)):
        return _front_matter(yaml_text)


YAML_SCALARS = st.sampled_from([
    "x", "'quoted: x'", '"a\\0b"', "1", "0x1f", "1_000", "1.5", ".nan", "-.inf", "true", "no",
    "~", "null", "2022-01-22", "2022-02-30", "2022-01-22T12:16:05Z", "2022-13-01 10:00:00",
    "!!binary aGk=", "!!binary !!", "!!str 1", "!!int x", "!!float 1", "!!seq x", "!!map x",
    "!!set x", "!!omap x", "!!python/object:os.system x", "!foo x", "&a x", "*a", "=", "<<",
    "Sat, 22 Jan 2022 12:16:05 GMT", "美国之音", "[a, b]", "{a: 1}", "[2022-02-30]",
])
YAML_KEYS = st.sampled_from(["title", "date", "tags", "1", "true", "~", "<<", "=", "? [a]",
                             "2022-01-22", "!!str x", "!!set k", "[k]", "{k: v}", "title"])


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """Front-matter-like YAML with every kind of scalar, tag, merge key and
    error PyYAML knows, in block and flow style, nested."""
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        key = draw(YAML_KEYS)
        kind = draw(st.integers(0, 3))
        if kind == 0:
            lines.append(f"{key}: {draw(YAML_SCALARS)}")
        elif kind == 1:
            lines.append(f"{key}:")
            lines += [f" - {draw(YAML_SCALARS)}" for _ in range(draw(st.integers(0, 3)))]
        elif kind == 2:
            tag = draw(st.sampled_from(["", "!!omap ", "!!set ", "!!pairs ", "!!map ", "&m "]))
            lines.append(f"{key}: {tag}")
            lines += [f"  {draw(YAML_KEYS)}: {draw(YAML_SCALARS)}"
                      for _ in range(draw(st.integers(0, 3)))]
        else:
            lines.append(f"{key}: <<: {{a: {draw(YAML_SCALARS)}}}")
    return "\n".join(lines) + "\n"


@MANY
@given(yaml_documents() | st.text(alphabet=st.sampled_from(list("ab:-[]{}!&*<=,'\"\n #?~1"))))
@example("a: 1\n<<: {b: 2}\n")  # a merge key: PyYAML rewrites the node, lines and all
@example("a: [2022-02-30]\nb: 2022-13-01\n")  # two errors: the one PyYAML meets first
@example("1: a\n1.0: b\ntrue: c\n")
@example("a: !!seq x\n")
def test_plain_front_matter_reads_as_with_pyyamls_constructor(yaml_text: str) -> None:
    assert _front_matter(yaml_text) == _front_matter_by_pyyaml(yaml_text)


def _reference_nesting(yaml_text: str) -> int:
    depth = deepest = 0
    for bracket in re.finditer(r"[\[\]{}]", yaml_text):
        depth = depth + 1 if bracket.group() in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    indicators = max((len(m.group().split()) for m in
                      re.finditer(r"^[ \t]*(?:[-?:][ \t]+){2,}", yaml_text, re.MULTILINE)),
                     default=0)
    return deepest + indicators


@MANY
@given(st.text(alphabet=st.sampled_from(list("-?: \t\n\r\x0bab[]{}\u3000\x85"))))
@example("- - - x\n  ? : - y\n")
@example("\n- - a")
def test_nesting_bound_is_the_regex_bound(yaml_text: str) -> None:
    assert common._nesting(yaml_text) == _reference_nesting(yaml_text)


# -- feed markdown heading ------------------------------------------------------------
HEADING_PIECES = st.sampled_from(["[", "]", "(", ")", "](", "\n", "-", "---", " ", "\t", "a",
                                  "\u3000", "标题", "](https://a.example/x_(y))", "\n---\n",
                                  "](u)\n-----\n", "](u v)\n---\n", "\n", "\r"])


@MANY
@given(st.lists(HEADING_PIECES, max_size=20).map("".join), st.booleans())
@example("[a](u)\n---\n[b](v)\n---\nbody", False)
def test_heading_is_what_the_heading_regex_matches(text: str, opened: bool) -> None:
    body = (" [" + text) if opened else text
    found = feed_markdown._HEADING.match(body)
    heading = feed_markdown._heading(body)
    if found is None:
        assert heading is None
    else:
        assert heading == (found.group("title"), found.group("url"), found.end())


# -- tagging ---------------------------------------------------------------------------
TAG_TEXT = st.lists(st.sampled_from([
    "普京", "俄罗斯", "白俄罗斯", "美国之音", "美国", "布林肯", " (Blinken)", "（普京）", "UN", "UNESCO",
    "un", "Putin", "putin", "a", "1", " ", "\n", "\x00", "(", "【", "·", "・", "Ｕｎ", "拜登",
    "泽连斯基", "北约", "乌克兰", "基辅",
]), max_size=30).map("".join)


@MANY
@given(TAG_TEXT, TAG_TEXT | st.text(alphabet=CJK | PRINTABLE, max_size=50))
@example("普京", "(Putin)说")
@example("the UN", "1普京")
@example("俄罗\x00斯", "UN")
def test_one_scan_counts_title_and_body_as_two_scans_do(title: str, body: str) -> None:
    taxonomy = SETTINGS.taxonomy
    pair = taxonomy._title_and_body_mentions(title, body)
    assert pair == (taxonomy.mentions(title), taxonomy.mentions(body))


def test_a_phrase_with_the_separator_makes_tagging_scan_twice() -> None:
    tags = [TagDef("odd", "奇\x00怪", "odd", "topic"), TagDef("putin", "普京", "Putin", "person")]
    taxonomy = build_taxonomy(tags, TaggingRules(min_body_mentions=1))
    assert taxonomy._title_and_body_mentions("奇", "\x00怪 普京") == ({}, {"putin": 1})
    assert taxonomy._title_and_body_mentions("奇\x00怪", "普京") == ({"odd": 1}, {"putin": 1})
    assert taxonomy.tag("奇\x00怪", "普京") == ("odd", "putin")


# -- parse workers to the build ------------------------------------------------------
@pytest.mark.parametrize("rel", ["voa/feed_markdown_with_footer.txt",
                                 "aljazeera/hexo_blank_first_line.md",
                                 "jekyll/jekyll_wrapped_feed_markdown.md"])
def test_worker_packing_gives_the_outcome_and_its_cache_row(rel: str, tmp_path) -> None:
    outcome = parse_fixture(rel)
    fresh = unpack(pack(outcome))
    assert fresh.outcome == outcome.without_body()
    assert fresh.body is not None and fresh.body.decode("utf-8") == outcome.body_html
    cache = open_cache(tmp_path / "cache.sqlite")
    cache.put_records([("packed", fresh.record, fresh.body)])
    cache.put_outcomes([("plain", outcome.without_body(), outcome.body_html)])
    rows = dict(cache.db.execute("SELECT key, body FROM parsed"))
    kinds = dict(cache.db.execute("SELECT key, typeof(body) FROM parsed"))
    assert rows["packed"] == rows["plain"] == outcome.body_html
    assert kinds == {"packed": "text", "plain": "text"}
    assert cache.get_outcomes(["packed"])["packed"] == outcome.without_body()


def test_packing_keeps_a_missing_body_missing() -> None:
    outcome = parse_fixture("voa/feed_markdown_with_footer.txt").without_body()
    assert unpack(pack(outcome)) == (outcome, pack(outcome)[0], None)

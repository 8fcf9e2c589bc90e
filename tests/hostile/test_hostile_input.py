"""Hostile input: every fixture is either published safely or reported.

Parse-level checks run per fixture (fast, precise messages); the site-level
checks audit every page of one build of all of them (see conftest.py). The
browser check of the same build is in test_hostile_browser.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import pytest
from lxml import etree, html as lxml_html

from generator.models import SourceFile
from generator.parse import INTERNAL_ERROR, ParseOutcome, parse_bytes
from generator.sanitize import CONTROL_CHARS
from tests.conftest import SETTINGS
from tests.hostile.conftest import (MARKUP_NAME, OVERSIZE_NAME, SHOWN_NAME, HostileSite,
                                    run_build, temp_config)
from tests.hostile.expectations import (EXPECTED, FIXTURES, TEXT, Published, Reported,
                                        audit_feed, audit_html, fixture_names, generated,
                                        voa_file)


def parse(name: str, data: bytes) -> ParseOutcome:
    return parse_bytes(SourceFile(name, data, hashlib.sha256(data).hexdigest()), SETTINGS)


def check_outcome(name: str, outcome: ParseOutcome, expected: Published | Reported) -> None:
    if isinstance(expected, Reported):
        assert outcome.article is None, f"{name} was published but must be reported"
        assert outcome.problem is not None and outcome.problem.severity.value == "error"
        for word in expected.words:
            assert word in outcome.problem.reason, (name, outcome.problem.reason)
        assert INTERNAL_ERROR not in outcome.problem.reason
        return
    assert outcome.article is not None, f"{name}: {outcome.problem}"
    article, body = outcome.article, outcome.body_html or ""
    for word in expected.warnings:
        assert any(word in w for w in article.warnings), (name, word, article.warnings)
    page = f'<!doctype html><html><body><div class="body">{body}</div></body></html>'
    assert audit_html(page, name, "/") == []
    for text in (article.title, article.summary, body, article.lead_caption or "",
                 article.author or "", article.source_url or "", article.lead_image or ""):
        assert not CONTROL_CHARS.search(text), (name, text[:80])
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", article.slug), article.slug
    for url in (article.source_url, article.lead_image):
        assert url is None or url.startswith(("http://", "https://")), url


def test_every_fixture_is_listed_with_its_expected_outcome() -> None:
    assert fixture_names() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_is_published_safely_or_reported(name: str) -> None:
    check_outcome(name, parse(name, (FIXTURES / name).read_bytes()), EXPECTED[name])


@pytest.mark.parametrize("name", sorted(generated()))
def test_big_or_odd_input_is_handled_in_seconds(name: str) -> None:
    data, expected = generated()[name]
    started = time.monotonic()
    outcome = parse(name, data)
    elapsed = time.monotonic() - started
    check_outcome(name, outcome, expected)
    assert elapsed < 20, f"{name} took {elapsed:.1f}s"


def test_four_megabyte_single_line_keeps_all_its_text() -> None:
    # libxml2's 10 MB text-node limit once made this body come back empty.
    body = "<p>" + "乌克兰和谈。" * 230_000 + "</p>"
    outcome = parse("big.txt", voa_file(8300001, "乌克兰：大文件", body))
    assert outcome.article is not None
    assert outcome.article.text_chars == 6 * 230_000
    assert outcome.body_html == body


def test_nul_byte_late_in_a_file_is_dropped_and_the_rest_published() -> None:
    outcome = parse("nul.txt", (FIXTURES / "voa_nul_byte_late_in_body.txt").read_bytes())
    assert outcome.article is not None and "\x00" not in (outcome.body_html or "")
    assert "NUL 之后的文字。" in (outcome.body_html or "")


def test_encodings_and_line_endings_read_the_same_text() -> None:
    titles = {}
    for name in ("voa_gbk_encoded.txt", "voa_utf16le_with_bom.txt", "voa_utf16be_with_bom.txt",
                 "voa_utf8_bom_crlf.txt", "voa_lone_cr_line_endings.txt"):
        outcome = parse(name, (FIXTURES / name).read_bytes())
        assert outcome.article is not None, name
        titles[name] = outcome.article.title.split("（")[0]
        assert "\r" not in (outcome.body_html or "") and "\ufeff" not in outcome.article.title
        assert "库列巴" in (outcome.body_html or "")
    assert set(titles.values()) == {"乌克兰外长与俄罗斯外长在安塔利亚会晤"}


# -- the built site ---------------------------------------------------------------
def test_build_publishes_or_reports_every_file(hostile_site: HostileSite) -> None:
    report = hostile_site.report
    published = {a["source_path"]: a for a in report["articles"]}
    errors = {p["source_path"]: p for p in report["problems"] if p["severity"] == "error"}
    warnings: dict[str, list[str]] = {}
    for problem in report["problems"]:
        if problem["severity"] == "warning":
            warnings.setdefault(problem["source_path"], []).append(problem["reason"])
    expected = {**EXPECTED, **{n: e for n, (_, e) in generated().items()},
                SHOWN_NAME: Published(), MARKUP_NAME: Published(),
                OVERSIZE_NAME: Reported(("bytes, over the 5,000,000-byte limit",
                                         "max_input_bytes"))}
    files = {p.name for p in hostile_site.content.iterdir()} - {
        p.name for p in hostile_site.content.iterdir() if not p.name.isprintable()}
    assert set(published) | set(errors) == set(expected), "a file was neither published nor reported"
    assert not set(published) & set(errors)
    assert files <= set(expected)
    for name, outcome in expected.items():
        if isinstance(outcome, Reported):
            assert name in errors, f"{name} must be reported"
            for word in outcome.words:
                assert word in errors[name]["reason"], (name, errors[name])
        else:
            assert name in published, f"{name} must be published: {errors.get(name)}"
            for word in outcome.warnings:
                assert any(word in w for w in warnings.get(name, [])), (name, word)
    assert not [p for p in report["problems"] if INTERNAL_ERROR in p["reason"]]
    assert not report.get("out_of_scope") and not report.get("duplicates")
    assert hostile_site.seconds < 120, f"hostile build took {hostile_site.seconds:.0f}s"


def test_every_published_page_is_safe(hostile_site: HostileSite) -> None:
    out = hostile_site.output
    findings: list[str] = []
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > len(hostile_site.report["articles"])
    for path in pages:
        rel = path.relative_to(out).as_posix()
        findings += audit_html(path.read_text(encoding="utf-8"), rel, hostile_site.base_path)
    for path in sorted(out.rglob("*.xml")):
        text = path.read_text(encoding="utf-8")
        if path.name == "feed.xml" or "<feed" in text[:500]:
            findings += audit_feed(text, path.relative_to(out).as_posix(),
                                   hostile_site.base_path)
        else:
            etree.fromstring(text.encode("utf-8"))  # sitemap: well-formed
    for path in sorted(out.rglob("*.json")):
        json.loads(path.read_text(encoding="utf-8"))
    assert findings == []


def test_every_published_article_page_exists_under_a_safe_path(hostile_site: HostileSite
                                                               ) -> None:
    out = hostile_site.output
    for article in hostile_site.report["articles"]:
        rel = article["output_path"]
        assert re.fullmatch(r"articles/[a-z0-9]+(?:-[a-z0-9]+)*/index\.html", rel), rel
        assert (out / rel).is_file()
        assert article["permalink"] == hostile_site.base_path + rel[: -len("index.html")]
    for path in out.rglob("*"):
        assert not path.is_symlink(), path
        rel = path.relative_to(out).as_posix()
        assert re.fullmatch(r"[A-Za-z0-9._/-]+", rel), rel  # nothing named by an input
    # Nothing was written next to the output but the generations, the lock and
    # the search stubs (named by content hash, never by an input), and no YAML
    # payload ran.
    assert sorted(p.name for p in out.parent.parent.iterdir()) == sorted(
        [".cache", "content", "public", ".public.gens", ".public.lock", ".public.search",
         "report.json", "site.yaml"])
    search_work = out.parent.parent / ".public.search"
    assert [p.name for p in search_work.iterdir()] == ["stubs"]
    assert all(re.fullmatch(r"[0-9a-f]{40}\.html", p.name) for p in (search_work / "stubs").iterdir())
    assert not Path("/tmp/pwned-by-yaml").exists() and not Path("/tmp/pwned").exists()


def _article_page(site: HostileSite, source: str) -> lxml_html.HtmlElement:
    entry = next(a for a in site.report["articles"] if a["source_path"] == source)
    return lxml_html.parse(str(site.output / entry["output_path"])).getroot()


def test_titles_captions_and_template_syntax_stay_text(hostile_site: HostileSite) -> None:
    page = _article_page(hostile_site, "voa_title_jinja_template_syntax.txt")
    assert "{{ 7*7 }}" in page.findtext(".//h1") and "49" not in page.findtext(".//h1")
    page = _article_page(hostile_site, "markdown_jinja_template_syntax.md")
    body = page.xpath("//*[contains(@class, 'body')]")[0].text_content()
    assert "{{ 7*7 }}" in body and "{{ bodies }}" in body and "{% for" in body
    page = _article_page(hostile_site, "voa_body_jinja_template_syntax.txt")
    body = page.xpath("//*[contains(@class, 'body')]")[0].text_content()
    assert "{{ 7*7 }}" in body and "{% include 'base.html' %}" in body
    # HTML written as entities in a title is shown as text, never parsed.
    page = _article_page(hostile_site, "hexo_title_script_and_entities.md")
    assert "<img src=x onerror=" in page.findtext(".//h1")
    page = _article_page(hostile_site, "voa_caption_html_and_script.txt")
    caption = page.find(".//figcaption")
    assert caption is not None and len(caption) == 0 and "说明" in caption.text
    page = _article_page(hostile_site, "voa_control_characters_in_title_and_body.txt")
    assert page.findtext(".//h1") == "乌克兰：控制字符标题"


def test_attribute_breakouts_stay_inside_their_attribute(hostile_site: HostileSite) -> None:
    for source in ("voa_lead_image_attribute_breakout.txt", "hexo_headimg_attribute_breakout.md"):
        page = _article_page(hostile_site, source)
        images = page.xpath("//figure//img")
        assert len(images) == 1 and images[0].get("src").startswith("https://img.example.com/")
        assert 'onerror="' in images[0].get("src")  # still one (harmless) attribute value
        assert not [k for k in images[0].attrib if k.startswith("on")]
    page = _article_page(hostile_site, "voa_source_url_quote_breakout.txt")
    links = [a for a in page.iter("a") if "8100023" in (a.get("href") or "")]
    assert links and not [k for a in links for k in a.attrib if k.startswith("on")]


def test_file_name_that_is_not_utf8_is_published_and_shown_escaped(hostile_site: HostileSite
                                                                   ) -> None:
    names = [a["source_path"] for a in hostile_site.report["articles"]]
    assert SHOWN_NAME in names


def test_over_max_input_bytes_is_reported_and_the_rest_published(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "small.txt").write_bytes(voa_file(8400001, "乌克兰：小文件", TEXT))
    big = voa_file(8400002, "乌克兰：大文件", "<p>" + "乌克兰。" * 3000 + "</p>")
    assert len(big) > 30_000
    (content / "big.txt").write_bytes(big)
    config = temp_config(tmp_path, max_input_bytes=30_000)
    report_path = tmp_path / "report.json"
    done = run_build("--content", str(content), "--output", str(tmp_path / "public"),
                     "--config", str(config), "--report", str(report_path), "--no-scope",
                     "--no-search", "--strict")
    assert done.returncode == 1, done.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert [a["source_path"] for a in report["articles"]] == ["small.txt"]
    problem = next(p for p in report["problems"] if p["source_path"] == "big.txt")
    assert problem["severity"] == "error"
    assert f"{len(big):,} bytes" in problem["reason"] and "30,000-byte limit" in problem["reason"]
    assert "max_input_bytes" in problem["reason"]
    assert (tmp_path / "public" / "articles" / "voa-8400001" / "index.html").is_file()
    assert not (tmp_path / "public" / "articles" / "voa-8400002").exists()

"""The reader's timeline without a browser: key events, the chart, the filter
data, sharing metadata, tag feeds and the search index's life cycle."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup

from generator import chart, events, seo
from generator.pipeline import BuildOptions, build
from tests.conftest import ROOT, site_config

ZONE = ZoneInfo("Asia/Shanghai")


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def _build(tmp_path: Path, output: Path | None = None, search: bool = True,
           base_url: str = "https://user.github.io/repo/", content: Path | None = None):
    config = replace(site_config(base_url), cache_dir=tmp_path / ".cache")
    return build(BuildOptions(content or ROOT / "content" / "articles",
                              output or tmp_path / "public", ROOT, config, workers=1,
                              search=search))


# -- events ------------------------------------------------------------------------
def test_seed_events_load_without_problems() -> None:
    tags = [line.split(":", 1)[1].strip() for line in
            (ROOT / "content" / "tags.yaml").read_text(encoding="utf-8").splitlines()
            if line.strip().startswith("- slug:")]
    found, problems = events.load_events(ROOT / "content" / "events.yaml", tags)
    assert problems == []
    assert len(found) >= 20
    titles = " ".join(e.title for e in found)
    for milestone in ("全面入侵", "伊斯坦布尔", "粮食协议", "吞并", "库尔斯克"):
        assert milestone in titles
    assert [e.day for e in found] == sorted(e.day for e in found)


def test_bad_events_are_reported_and_left_out(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    path.write_text("events:\n  - date: 2022-02-24\n    title: 入侵\n    tags: [putin, nope]\n"
                    "  - date: soon\n    title: 无日期\n  - date: 2022-03-01\n", encoding="utf-8")
    found, problems = events.load_events(path, ["putin"])
    assert [(e.title, e.tags) for e in found] == [("入侵", ("putin",))]
    reasons = [p.reason for p in problems]
    assert "unknown tag(s) nope" in reasons[0]
    assert "not a date" in reasons[1] and "no title" in reasons[2]
    assert events.load_events(tmp_path / "missing.yaml") == ([], [])


def _article(n: int, day: date):
    from tests.conftest import parse_fixture
    base = next(o.article for o in [parse_fixture("voa/feed_markdown_with_footer.txt")])
    when = datetime(day.year, day.month, day.day, 4, tzinfo=timezone.utc)
    return replace(base, uid=f"u{n}", slug=f"a-{n}", published=when)


def test_events_fall_on_the_page_where_they_belong_in_time() -> None:
    a = [_article(i, d) for i, d in enumerate([date(2022, 1, 5), date(2022, 2, 20),
                                               date(2022, 3, 1), date(2022, 4, 2)])]
    chunks = [tuple(a[:2]), tuple(a[2:])]
    ev = [events.Event(date(2021, 12, 1), "早"), events.Event(date(2022, 2, 20), "同日"),
          events.Event(date(2022, 2, 24), "之间"), events.Event(date(2022, 5, 1), "晚")]
    placed = events.split_events(chunks, ev, ZONE)
    assert [[e.title for e in page] for page in placed] == [["早", "同日"], ["之间", "晚"]]
    months = events.interleave(chunks[0], placed[0], ZONE)
    assert [(m.year, m.month) for m in months] == [(2021, 12), (2022, 1), (2022, 2)]
    # On the same day the event comes before the reports.
    assert [kind for kind, _ in months[2].items] == ["e", "a"]
    assert months[2].article_count == 1


# -- chart ---------------------------------------------------------------------------
def test_chart_has_a_bar_per_month_with_links_and_event_markers() -> None:
    months = chart.chart_months({(2022, 2): 3, (2022, 4): 1}, (2022, 1), (2022, 6),
                                lambda y, m: f"/repo/{y}/{m:02d}/")
    assert [(m.month, m.count, m.href) for m in months] == [
        (1, 0, None), (2, 3, "/repo/2022/02/"), (3, 0, None), (4, 1, "/repo/2022/04/"),
        (5, 0, None), (6, 0, None)]
    marks = [chart.ChartEvent(events.Event(date(2022, 2, d), f"事{d}"), f"/repo/#e{d}")
             for d in (21, 24, 28)]
    svg = chart.render_svg(months, marks)
    page = BeautifulSoup(svg, "lxml")
    assert len(page.select("rect.bar")) == 2
    assert [a["href"] for a in page.select("a:not(.event)")] == ["/repo/2022/02/", "/repo/2022/04/"]
    assert len(page.select("a.event")) == 3
    # Close events do not overlap: each flag gets its own row.
    assert len({c["cy"] for c in page.select("a.event circle")}) == 3
    assert '<script' not in svg


def test_home_page_has_chart_events_and_filter_form(tmp_path: Path) -> None:
    _build(tmp_path, search=False)
    home = soup(tmp_path / "public" / "index.html")
    svg = home.select_one(".overview svg.chart")
    assert svg is not None and svg.select("a[href^='/repo/2022/10/']")
    assert len(home.select(".key-events li")) >= 20
    # Events appear in the timeline between the articles, with anchors the chart links to.
    first_event = home.select_one("li.event")
    assert first_event is not None and first_event.get("id", "").startswith("e-2022-")
    assert home.select_one(f"svg.chart a.event[href$='#{first_event['id']}']") is not None
    form = home.select_one("form#filters")
    assert form.has_attr("hidden")  # shown by the script only
    assert {i["value"] for i in form.select("input[name=outlet]")} == {"voa", "aljazeera"}
    assert form.select_one("option[value=lavrov]") is not None
    assert form["data-cards"] == "/repo/cards/"
    assert home.select_one("nav.month-bar") is not None
    assert home.find("script", src="/repo/static/timeline.js") is not None


def test_card_files_hold_every_article_for_the_filters(tmp_path: Path) -> None:
    report = _build(tmp_path, search=False)
    cards = tmp_path / "public" / "cards"
    index = json.loads((cards / "index.json").read_text(encoding="utf-8"))
    assert [m for m, _ in index["months"]] == ["2022-01", "2022-02", "2022-10", "2024-09"]
    assert index["outlets"] == {"aljazeera": "半岛电视台", "voa": "美国之音"}
    rows = [row for name, _ in index["months"]
            for row in json.loads((cards / f"{name}.json").read_text(encoding="utf-8"))]
    assert sorted(r[0] for r in rows) == sorted(a.slug for a in report.articles)
    slug, when, outlet, title, summary, tags = rows[2]
    assert when.startswith("2022-10-") and when.endswith("+08:00")
    assert outlet == "voa" and title and summary and all(t in index["tags"] for t in tags)


def test_long_month_pages_are_split(tmp_path: Path) -> None:
    config = replace(site_config(), cache_dir=tmp_path / ".cache", page_size=1)
    build(BuildOptions(ROOT / "content" / "articles", tmp_path / "public", ROOT, config,
                       workers=1, search=False))
    out = tmp_path / "public"
    assert len(soup(out / "2022" / "10" / "index.html").select(".card")) == 1
    assert len(soup(out / "2022" / "10" / "page" / "2" / "index.html").select(".card")) == 1


# -- sharing ---------------------------------------------------------------------------
def test_article_has_open_graph_twitter_canonical_and_json_ld(tmp_path: Path) -> None:
    _build(tmp_path, search=False)
    page = soup(tmp_path / "public" / "articles" / "voa-6786297" / "index.html")
    url = "https://user.github.io/repo/articles/voa-6786297/"
    assert page.find("link", rel="canonical")["href"] == url
    meta = {m.get("property") or m.get("name"): m["content"] for m in page.find_all("meta")
            if m.get("content")}
    assert meta["og:type"] == "article" and meta["og:url"] == url
    assert meta["og:title"] == page.h1.get_text()
    assert meta["og:image"].startswith("https://") and meta["og:locale"] == "zh_CN"
    assert meta["twitter:card"] == "summary_large_image"
    data = json.loads(page.find("script", type="application/ld+json").string)
    assert data["@type"] == "NewsArticle" and data["url"] == url
    assert data["isBasedOn"]["url"] == ("https://www.voachinese.com/a/"
                                        "us-ukraine-russia-20221012/6786297.html")
    assert data["datePublished"] == "2022-10-12T09:21:33Z"
    assert page.find("link", rel="icon")["href"] == "/repo/static/favicon.svg"


def test_json_ld_cannot_close_its_script_element() -> None:
    text = seo.script_json({"headline": "</script><script>alert(1)</script> & more"})
    assert "</" not in text and "<" not in text
    assert json.loads(text)["headline"].startswith("</script>")


def test_every_tag_has_an_atom_feed(tmp_path: Path) -> None:
    _build(tmp_path, search=False)
    out = tmp_path / "public"
    tag_pages = [p.parent for p in (out / "tags").glob("*/index.html")]
    assert tag_pages and all((p / "feed.xml").is_file() for p in tag_pages)
    feed = BeautifulSoup((out / "tags" / "lavrov" / "feed.xml").read_text(encoding="utf-8"),
                         "xml")
    assert feed.find("link", rel="self")["href"] == \
        "https://user.github.io/repo/tags/lavrov/feed.xml"
    assert len(feed.find_all("entry")) == 2 and feed.title.get_text().startswith("拉夫罗夫")
    page = soup(out / "tags" / "lavrov" / "index.html")
    assert page.find("link", type="application/atom+xml", href=lambda h: h.endswith(
        "/tags/lavrov/feed.xml")) is not None


# -- search ----------------------------------------------------------------------------
def test_only_article_bodies_are_marked_for_the_index(tmp_path: Path) -> None:
    _build(tmp_path, search=False)
    out = tmp_path / "public"
    marked = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")
                    if "data-pagefind-body" in p.read_text(encoding="utf-8"))
    assert marked == sorted(f"articles/{p.name}/index.html" for p in (out / "articles").iterdir())
    article = soup(out / "articles" / "voa-6786297" / "index.html")
    assert article.select_one("div.body[data-pagefind-body]") is not None
    assert article.select("[data-pagefind-filter=tag]")
    # Every page has a search box that works without a script (a GET form).
    home = soup(out / "index.html")
    assert home.select_one("form[role=search]")["action"] == "/repo/search/"


def test_search_index_is_built_kept_and_removed_with_the_site(tmp_path: Path) -> None:
    out = tmp_path / "public"
    first = _build(tmp_path)
    index_files = {r for r in first.written.written if r.startswith("pagefind/")}
    assert "pagefind/pagefind.js" in index_files and (out / "pagefind" / "pagefind.js").is_file()
    assert any(r.startswith("pagefind/fragment/") for r in index_files)
    assert soup(out / "search" / "index.html").find("script", src="/repo/static/search.js")
    # Nothing changed: nothing written, the index stays.
    second = _build(tmp_path)
    assert second.written.written == () and index_files <= set(second.written.unchanged)
    # A quick build without search drops the index and says so on the search page.
    quick = _build(tmp_path, search=False)
    assert set(quick.written.deleted) >= index_files and not (out / "pagefind").exists()
    assert "--no-search" in (out / "search" / "index.html").read_text(encoding="utf-8")
    # The next full build brings it back.
    _build(tmp_path)
    assert (out / "pagefind" / "pagefind.js").is_file()


def test_a_changed_article_is_reindexed(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "articles", content)
    _build(tmp_path, content=content)
    out = tmp_path / "public"
    before = {p.relative_to(out.resolve()).as_posix()
              for p in (out / "pagefind").resolve().rglob("*") if p.is_file()}
    source = content / "001_ad311631ccc6ebed.txt"
    source.write_text(source.read_text(encoding="utf-8").replace(
        "</p>", "<p>独一无二的测试词语鹦鹉螺。</p>", 1), encoding="utf-8")
    report = _build(tmp_path, content=content)
    after = {r for r in report.written.written if r.startswith("pagefind/")}
    assert after and after != before
    manifest = json.loads((out / ".timeline-manifest.json").read_text(encoding="utf-8"))
    on_disk = {p.relative_to(out.resolve()).as_posix()
               for p in (out / "pagefind").resolve().rglob("*") if p.is_file()}
    assert {r for r in manifest["files"] if r.startswith("pagefind/")} == on_disk


def test_index_is_kept_when_no_article_page_changed(tmp_path: Path) -> None:
    events_file = tmp_path / "events.yaml"
    events_file.write_text("events:\n  - date: 2022-02-24\n    title: 入侵\n", encoding="utf-8")
    config = replace(site_config(), cache_dir=tmp_path / ".cache", events_path=events_file)
    options = BuildOptions(ROOT / "content" / "articles", tmp_path / "public", ROOT, config,
                           workers=1)
    build(options)
    js = tmp_path / "public" / "pagefind" / "pagefind.js"
    inode = js.stat().st_ino
    events_file.write_text("events:\n  - date: 2022-02-25\n    title: 另一件事\n",
                           encoding="utf-8")
    report = build(options)
    assert "index.html" in report.written.written
    assert not [r for r in report.written.written if r.startswith(("pagefind/", "articles/"))]
    assert js.stat().st_ino == inode and "另一件事" in (
        tmp_path / "public" / "index.html").read_text(encoding="utf-8")

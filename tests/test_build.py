"""Building the real articles in content/: every page, every link, the report."""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
from pathlib import Path

from bs4 import BeautifulSoup

from tests.conftest import FIXTURES, ROOT, site_config
from tests.linkcheck import broken_links

SEED_PAGES = {
    # slug: (title, <time datetime>, outlet name, original URL or None)
    "voa-7779883": ("俄乌战争进入关键节点，美英最高外交官罕见联访基辅", "2024-09-11T23:37:24+08:00",
                    "美国之音", "https://www.voachinese.com/a/blinken-and-lammy-arrive-in-kyiv-as-"
                    "ukraine-pushes-for-long-range-strikes-against-russia-20240911/7779883.html"),
    "voa-6786297": ("美国领导的联盟开会决定下一步如何帮助乌克兰抗击俄国侵略军",
                    "2022-10-12T17:21:33+08:00", "美国之音",
                    "https://www.voachinese.com/a/us-ukraine-russia-20221012/6786297.html"),
    "voa-6800196": ("美俄防长在乌克兰战火继续之际通电话，莫斯科放口风对谈判抱持开放态度",
                    "2022-10-22T03:39:42+08:00", "美国之音",
                    "https://www.voachinese.com/a/top-us-russian-defense-officials-talk-as-"
                    "fighting-rages-in-ukraine-20221021/6800196.html"),
}


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def test_builds_every_seed_article_with_its_fields(build_site, tmp_path: Path) -> None:
    report = build_site()
    out = tmp_path / "public"
    assert len(report.articles) == 5 and not report.errors
    for slug, (title, iso, outlet, url) in SEED_PAGES.items():
        page = soup(out / "articles" / slug / "index.html")
        assert page.html["lang"] == "zh-Hans"
        assert page.h1.get_text() == title
        assert page.find("time")["datetime"] == iso
        assert "（UTC+8）" in page.find("time").get_text()
        assert page.find("a", class_="badge").get_text() == outlet
        assert page.find("a", string=lambda s: s and "阅读原文" in s)["href"] == url
        assert page.find("figure", class_="lead-image").img["referrerpolicy"] == "no-referrer"
        # No JavaScript on an article page; the only script element is JSON-LD data.
        assert [s.get("type") for s in page.find_all("script")] == ["application/ld+json"]


def test_timeline_is_chronological_grouped_by_month(build_site, tmp_path: Path) -> None:
    build_site()
    page = soup(tmp_path / "public" / "index.html")
    # Months with articles (key events may add months of their own between them).
    months = [h.get_text() for h in page.select("section.month:has(.card) h2.month-title")]
    assert months == ["2022年1月", "2022年2月", "2022年10月", "2024年9月"]
    times = [t["datetime"] for t in page.select(".card time")]
    assert times == sorted(times) and len(times) == 5
    assert page.find("a", class_="jump") is not None


def test_prev_next_follow_time(build_site, tmp_path: Path) -> None:
    build_site()
    page = soup(tmp_path / "public" / "articles" / "voa-6786297" / "index.html")
    assert page.find("a", rel="prev")["href"].endswith("/articles/aljazeera-db32136a5674/")
    assert page.find("a", rel="next")["href"].endswith("/articles/voa-6800196/")


def test_month_year_tag_outlet_and_service_files_exist(build_site, tmp_path: Path) -> None:
    build_site()
    out = tmp_path / "public"
    for rel in ["2022/10/index.html", "2022/index.html", "2024/index.html", "archive/index.html",
                "tags/index.html", "outlets/index.html", "outlets/voa/index.html",
                "outlets/aljazeera/index.html", "feed.xml", "sitemap.xml", "robots.txt",
                "404.html", ".nojekyll", "about/index.html", "static/style.css"]:
        assert (out / rel).is_file(), rel
    month = soup(out / "2022" / "10" / "index.html")
    assert len(month.select(".card")) == 2
    assert month.find("a", rel="prev")["href"] == "/2022/02/"
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    assert feed.count("<entry>") == 5 and "<updated>2024-09-11T15:37:24Z</updated>" in feed


def test_every_internal_link_resolves_at_domain_root(build_site, tmp_path: Path) -> None:
    build_site()
    assert broken_links(tmp_path / "public", "/") == []


def test_sub_path_base_url_has_no_broken_link(build_site, tmp_path: Path) -> None:
    build_site(config=site_config("https://user.github.io/repo/"))
    out = tmp_path / "public"
    assert broken_links(out, "/repo/") == []
    page = soup(out / "index.html")
    assert page.find("link", rel="stylesheet")["href"] == "/repo/static/style.css"
    assert page.find("link", rel="canonical")["href"] == "https://user.github.io/repo/"
    assert "https://user.github.io/repo/articles/" in (out / "sitemap.xml").read_text()


def test_report_json_lists_articles_problems_scope_and_duplicates(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "articles", content)
    shutil.copy(FIXTURES / "problems" / "invalid_date.md", content / "bad-date.md")
    # The same article scraped twice under another name.
    shutil.copy(content / "001_ad311631ccc6ebed.txt", content / "zz-rescrape.txt")
    (content / "old.txt").write_text(
        "<!--1300000000000-->\n[2011年的旧闻：乌克兰](https://www.voachinese.com/a/x/1000001.html)"
        "\n------\n\n<div><i>Sun, 13 Mar 2011 07:06:40 GMT</i></div><p>乌克兰旧闻。</p>\n",
        encoding="utf-8")
    report_path = tmp_path / "report.json"
    result = _cli("build", "--content", str(content), "--output", str(tmp_path / "out"),
                  "--report", str(report_path), "--base-url", "https://user.github.io/repo/")
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    by_source = {a["source_path"]: a for a in report["articles"]}
    assert set(by_source) == {p.name for p in (ROOT / "content" / "articles").iterdir()}
    voa = by_source["001_ad311631ccc6ebed.txt"]
    assert voa == {**voa, "permalink": "/repo/articles/voa-6786297/",
                   "output_path": "articles/voa-6786297/index.html",
                   "published": "2022-10-12T17:21:33+08:00", "outlet": "voa",
                   "source_url": "https://www.voachinese.com/a/us-ukraine-russia-20221012/6786297.html"}
    assert report["problems"] == [{"source_path": "bad-date.md", "severity": "error",
                                   "reason": report["problems"][0]["reason"], "line": 10}]
    assert report["duplicates"][0]["source_path"] == "zz-rescrape.txt"
    assert report["duplicates"][0]["duplicate_of"] == "001_ad311631ccc6ebed.txt"
    assert report["out_of_scope"][0]["source_path"] == "old.txt"
    assert report["counts"]["written"] > 20 and report["counts"]["deleted"] == 0
    assert "1 errors" in result.stdout


def test_strict_exits_non_zero_only_when_an_error_is_reported(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "articles", content)
    ok = _cli("build", "--content", str(content), "--output", str(tmp_path / "o1"), "--strict")
    assert ok.returncode == 0, ok.stderr
    shutil.copy(FIXTURES / "problems" / "missing_title.md", content / "x.md")
    bad = _cli("build", "--content", str(content), "--output", str(tmp_path / "o2"), "--strict")
    assert bad.returncode == 1
    assert "x.md" in bad.stderr and "missing title" in bad.stderr
    assert (tmp_path / "o2" / "articles" / "voa-6786297" / "index.html").exists()


def test_no_scope_publishes_out_of_range_articles(tmp_path: Path, build_site) -> None:
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(ROOT / "site.yaml", tmp_path / "unused.yaml")
    (content / "old.txt").write_text(
        "<!--1300000000000-->\n[旧闻](https://www.voachinese.com/a/x/1000001.html)\n------\n\n"
        "<div><i>Sun, 13 Mar 2011 07:06:40 GMT</i></div><p>天气。</p>\n", encoding="utf-8")
    scoped = build_site(content=content, output=tmp_path / "a")
    assert not scoped.articles and scoped.out_of_scope[0].reason.startswith("published 2011-03-13")
    unscoped = build_site(content=content, output=tmp_path / "b",
                          config=site_config().without_scope())
    assert [a.slug for a in unscoped.articles] == ["voa-1000001"]


def test_renamed_file_keeps_its_permalink(build_site, content_copy: Path, tmp_path: Path) -> None:
    before = {a.title: a.slug for a in build_site(content=content_copy).articles}
    for path in content_copy.iterdir():
        path.rename(content_copy / f"renamed-{path.stem[::-1]}.md")
    after = {a.title: a.slug for a in build_site(content=content_copy).articles}
    assert after == before


def test_second_build_writes_nothing(build_site, tmp_path: Path) -> None:
    first = build_site()
    assert first.written.written
    second = build_site()
    assert second.written.written == () and second.written.deleted == ()
    assert len(second.written.unchanged) == len(first.written.written)


def test_a_bad_file_never_aborts_the_build(build_site, content_copy: Path) -> None:
    for fixture in (FIXTURES / "problems").iterdir():
        shutil.copy(fixture, content_copy / fixture.name)
    report = build_site(content=content_copy)
    # Every file is accounted for: published, reported, or a known duplicate.
    accounted = {a.rel_path for a in report.articles} | {p.source_path for p in report.errors}
    accounted |= {d.source_path for d in report.duplicates}
    assert accounted == {p.name for p in content_copy.iterdir()}
    assert len(report.articles) >= 5


def test_a_build_run_in_process_leaves_the_cycle_collector_as_it_was(tmp_path: Path) -> None:
    """Only `python -m generator` (main(exiting=True)) may leave it off: the
    process ends right after. A caller of main() keeps collecting cycles."""
    from generator.cli import main

    content = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "articles", content)
    args = ["build", "--quiet", "--no-cache", "--config", str(ROOT / "site.yaml"),
            "--content", str(content), "--output", str(tmp_path / "out")]
    assert gc.isenabled()
    assert main(args) == 0
    assert gc.isenabled()
    try:
        assert main([*args, "--output", str(tmp_path / "out2")], exiting=True) == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert (tmp_path / "out2" / "articles" / "voa-6786297" / "index.html").exists()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_article_pages_link_other_reports_of_the_same_event(tmp_path: Path, build_site) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "voa.txt").write_text(
        "<!--1643000000000-->\n[布林肯与拉夫罗夫在日内瓦会晤](https://www.voachinese.com/a/geneva/"
        "6410001.html)\n------\n\n<div><i>Fri, 21 Jan 2022 14:00:00 GMT</i></div><p>美国国务卿布林肯"
        "与俄罗斯外长拉夫罗夫在日内瓦会晤，讨论乌克兰危机。布林肯说，会谈坦率。拉夫罗夫表示等待书面答复。"
        "</p>\n", encoding="utf-8")
    (content / "aj.md").write_text(
        "\n---\ntitle: '布林肯与拉夫罗夫日内瓦会谈未取得突破'\nauthor: Aljazeera 半岛网\n"
        "date: Fri, 21 Jan 2022 18:30:00 GMT\n---\n\n<div><p>布林肯与拉夫罗夫在日内瓦就乌克兰危机会谈。"
        "拉夫罗夫说，俄方等待美方书面答复；布林肯称会谈坦率。</p></div>\n", encoding="utf-8")
    report = build_site(content=content)
    assert len(report.articles) == 2
    out = tmp_path / "public"
    voa = soup(out / "articles" / "voa-6410001" / "index.html")
    other = voa.find("section", class_="other-reports")
    assert other is not None and "日内瓦会谈未取得突破" in other.get_text()
    tag = soup(out / "tags" / "blinken" / "index.html")
    assert "2022年1月" in tag.find("details", class_="month-counts").get_text()
    assert tag.find("p", class_="related-tags").find("a", string="拉夫罗夫") is not None


def test_build_turns_the_cycle_collector_back_on(build_site) -> None:
    """A build runs with Python's cycle collector off (it is slow over a
    build's long-lived objects); a watch server that builds again and again
    must get it back after each build, or its cyclic garbage is never freed."""
    import gc

    assert gc.isenabled()
    build_site()
    assert gc.isenabled()
    gc.disable()
    try:
        build_site()
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_month_pages_head_cards_one_level_up_even_with_heading_tags_in_the_title(
        build_site, content_copy: Path, tmp_path: Path) -> None:
    # Month pages show cards under h2, other lists under h3 (one card, two levels):
    # the title's own text must come through whatever it contains.
    seed = content_copy / "002_44a241bc3d13903c.txt"
    written = "美国向乌克兰提供军事援助 &lt;/h3&gt;&lt;h3 class=x&gt; 布林肯与拉夫罗夫再度会晤"
    title = "美国向乌克兰提供军事援助 </h3><h3 class=x> 布林肯与拉夫罗夫再度会晤"
    text = seed.read_text(encoding="utf-8")
    seed.write_text(text.replace(
        "title: '美国向乌克兰提供军事援助  布林肯与拉夫罗夫再度会晤以继续谈判'",
        f"title: '{written}'"), encoding="utf-8")
    build_site(content_copy)
    out = tmp_path / "public"
    month = soup(out / "2022" / "01" / "index.html")
    timeline = soup(out / "index.html")
    month_titles = [h.get_text() for h in month.select("h2.card-title")]
    assert title in month_titles and not month.select("h3.card-title")
    assert title in [h.get_text() for h in timeline.select("h3.card-title")]
    assert not timeline.select("h2.card-title")

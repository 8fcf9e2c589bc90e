"""Rebuilds: a second build writes nothing, a change rewrites only the pages that
show it, and an incremental build always equals a clean one."""

from __future__ import annotations

import random
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from generator.pipeline import BuildOptions, build
from generator.report import BuildReport
from generator.write import WriteResult
from tests.conftest import FIXTURES, ROOT, site_config

LATEST = FIXTURES / "voa" / "feed_markdown_with_footer.txt"


def make_article(number: int, day: int, title: str, month: int = 9, year: int = 2024) -> str:
    """A feed-markdown article about Ukraine, unique by `number`."""
    return (f"<!--1726000000000-->\n[{title}](https://www.voachinese.com/a/test-{number}/"
            f"{8000000 + number}.html)\n------\n\n<div><i>{_weekday(year, month, day)}, "
            f"{day:02d} {_month(month)} {year} 10:00:00 GMT</i></div><p>乌克兰总统泽连斯基与"
            f"北约秘书长讨论第{number}批军事援助。</p><p>泽连斯基说，防空系统是当务之急。</p>\n")


def _month(month: int) -> str:
    return ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
            "Dec"][month - 1]


def _weekday(year: int, month: int, day: int) -> str:
    from datetime import date
    return ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][date(year, month, day).weekday()]


class Site:
    """A content folder and an output folder under tmp_path, built on demand."""

    def __init__(self, tmp_path: Path, project: Path = ROOT) -> None:
        self.content = tmp_path / "content"
        shutil.copytree(ROOT / "content" / "articles", self.content)
        self.output = tmp_path / "public"
        self.project = project
        self.config = replace(site_config(), cache_dir=tmp_path / ".cache")

    def build(self, clean: bool = False, output: Path | None = None,
              changed: frozenset[str] | None = None) -> BuildReport:
        # The search index is Pagefind's business and is tested on its own; these
        # tests are about which pages the generator rewrites.
        return build(BuildOptions(self.content, output or self.output, self.project, self.config,
                                  workers=1, clean=clean, search=False, changed=changed))

    def files(self, output: Path | None = None) -> dict[str, bytes]:
        root = (output or self.output).resolve()
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and p.name != ".timeline-manifest.json"}

    def mtimes(self) -> dict[str, int]:
        root = self.output.resolve()
        return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*")
                if p.is_file() and p.name != ".timeline-manifest.json"}


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def pages_showing(files: dict[str, bytes], slug: str) -> set[str]:
    # Pages link it; data files for the filters name it as a JSON string.
    needles = (f"/articles/{slug}/".encode(), f'"{slug}"'.encode())
    return {rel for rel, data in files.items() if any(n in data for n in needles)}


# Pages that show counts of all articles, which any added article changes.
COUNT_PAGES = {"archive/index.html", "tags/index.html", "outlets/index.html", "cards/index.json"}


def test_second_build_parses_renders_and_writes_nothing(site: Site) -> None:
    site.build()
    before = site.mtimes()
    again = site.build()
    assert (again.parsed, again.rendered, again.written.written) == (0, 0, ())
    assert again.cached == 5
    assert site.mtimes() == before


def test_nothing_changed_report_lists_the_same_articles_as_the_build_before(site: Site) -> None:
    import json

    first = site.build()
    again = site.build()
    assert again.timings.keys() == {"unchanged"}  # the fast path, not a full build
    before = json.loads(first.json_text(site.config))
    after = json.loads(again.json_text(site.config))
    assert after["articles"] == before["articles"] and len(after["articles"]) == 5
    assert after["problems"] == before["problems"]
    assert after["counts"]["cached"] == 5 and after["counts"]["written"] == 0
    # Loaded on demand: the same articles as the full build returned.
    assert [a.slug for a in again.articles] == [a.slug for a in first.articles]
    # One article per line, the rest indented.
    lines = again.json_text(site.config).splitlines()
    assert sum(line.startswith('    {"source_path": ') for line in lines) == 5
    assert '  "counts": {' in lines


def test_on_live_is_called_once_the_new_pages_are_live(site: Site) -> None:
    site.build()
    (site.content / "new.txt").write_text(make_article(11, 3, "泽连斯基会见北约秘书长"),
                                          encoding="utf-8")
    page = site.output / "articles" / "voa-8000011" / "index.html"
    seen: list[tuple[tuple[str, ...], bool]] = []

    def on_live(result: WriteResult) -> None:
        seen.append((result.written, page.is_file() and
                     "泽连斯基会见北约秘书长" in page.read_text(encoding="utf-8")))

    report = build(BuildOptions(site.content, site.output, site.project, site.config,
                                workers=1, search=False), on_live=on_live)
    assert seen == [(report.written.written, True)]
    assert "articles/voa-8000011/index.html" in report.written.written
    # Nothing changed: the live site already is the new one; nothing to announce.
    build(BuildOptions(site.content, site.output, site.project, site.config, workers=1,
                       search=False), on_live=on_live)
    assert len(seen) == 1


def test_a_build_told_not_to_skip_walks_the_site_and_still_writes_nothing(site: Site) -> None:
    site.build()
    before = site.mtimes()
    seen: list[WriteResult] = []
    report = build(BuildOptions(site.content, site.output, site.project, site.config,
                                workers=1, search=False, skip_if_unchanged=False),
                   on_live=seen.append)
    assert "render" in report.timings and "unchanged" not in report.timings
    assert report.written.written == () and report.rendered == 0 and seen == []
    assert site.mtimes() == before
    # The quick path is still there for the next build that allows it.
    assert site.build().timings.keys() == {"unchanged"}


def test_one_new_article_rewrites_only_the_pages_that_show_it(site: Site) -> None:
    site.build()
    before = site.mtimes()
    previous = site.files()
    (site.content / "new.txt").write_text(make_article(1, 12, "北约与乌克兰讨论防空援助"),
                                          encoding="utf-8")
    report = site.build()
    assert report.parsed == 1 and report.cached == 5
    files = site.files()
    written = set(report.written.written)
    showing = pages_showing(files, "voa-8000001")
    assert "articles/voa-8000001/index.html" in written
    # Every page that links the new article was written...
    assert showing <= written
    # ...and nothing else was, beyond pages that count articles, and pages whose
    # related list changed because the new article changed a shared tag's rarity.
    others = written - showing - COUNT_PAGES - {"2024/index.html"}
    for rel in others:
        assert _without_related(files[rel]) == _without_related(previous[rel]), rel
    assert {"articles/voa-7779883/index.html", "2024/09/index.html", "index.html",
            "feed.xml", "sitemap.xml"} <= written
    untouched = set(before) - written
    assert all(site.mtimes()[rel] == before[rel] for rel in untouched)
    assert {"2022/10/index.html", "2022/index.html", "404.html"} <= untouched


def test_unchanged_groups_are_kept_whole_and_damaged_files_still_rewritten(site: Site) -> None:
    first = site.build()
    groups = _manifest(site)["groups"]
    assert "2022/10/" in groups and any(g.startswith("tags/") for g in groups)
    damaged = site.output / "2022/10/index.html"
    damaged.write_bytes(b"edited by hand")
    (site.content / "new.txt").write_text(make_article(2, 12, "北约与乌克兰讨论防空援助"),
                                          encoding="utf-8")
    report = site.build()
    # October 2022 is not the new article's month: its group digest is unchanged,
    # so it is kept without rendering, except that a kept file must be intact.
    assert report.rendered < first.rendered
    assert "2022/10/index.html" in report.written.written
    assert damaged.read_bytes() != b"edited by hand"
    assert _manifest(site)["groups"]["2022/10/"] == groups["2022/10/"]
    assert _manifest(site)["groups"]["2024/09/"] != groups["2024/09/"]


def _manifest(site: Site) -> dict:
    import json
    return json.loads((site.output / ".timeline-manifest.json").read_text(encoding="utf-8"))


def _without_related(page: bytes) -> bytes:
    import re
    return re.sub(rb'<section class="related".*?</section>', b"", page, flags=re.S)


def test_editing_an_article_updates_every_page_that_shows_it(site: Site) -> None:
    site.build()
    path = site.content / "001_ad311631ccc6ebed.txt"
    old_title = "美国领导的联盟开会决定下一步如何帮助乌克兰抗击俄国侵略军"
    path.write_text(path.read_text(encoding="utf-8").replace(old_title, "改过的标题：乌克兰防务联络小组开会"),
                    encoding="utf-8")
    report = site.build()
    assert report.parsed == 1
    files = site.files()
    assert not [rel for rel, data in files.items() if old_title.encode() in data]
    assert "改过的标题".encode() in files["articles/voa-6786297/index.html"]
    assert "改过的标题".encode() in files["articles/voa-6800196/index.html"]  # its next article


def test_deleting_an_article_removes_its_page_and_every_link_to_it(site: Site) -> None:
    site.build()
    (site.content / "003_36f5a37b37c2c4e1.txt").unlink()
    report = site.build()
    assert "articles/voa-6800196/index.html" in report.written.deleted
    files = site.files()
    assert "articles/voa-6800196/index.html" not in files
    assert not pages_showing(files, "voa-6800196")
    assert not (site.output.resolve() / "articles" / "voa-6800196").exists()


def test_template_change_rerenders_what_depends_on_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copytree(ROOT / "static", project / "static")
    site = Site(tmp_path, project)
    site.build()
    template = project / "templates" / "article.html"
    template.write_text(template.read_text(encoding="utf-8").replace(
        "阅读原文", "查看原文"), encoding="utf-8")
    report = site.build()
    files = site.files()
    assert "查看原文".encode() in files["articles/voa-6786297/index.html"]
    assert "articles/voa-6786297/index.html" in report.written.written
    assert "index.html" not in report.written.written  # the timeline does not use it
    assert report.parsed == 0


def test_settings_change_rebuilds_dependent_pages(site: Site) -> None:
    site.build()
    site.config = replace(site.config, title="另一个标题")
    report = site.build()
    assert "另一个标题".encode() in site.files()["index.html"]
    assert report.rendered > 50


def test_a_new_base_url_reaches_links_compiled_into_cached_templates(site: Site,
                                                                     tmp_path: Path) -> None:
    # Templates write fixed links as `'archive/'|url`, which Jinja computes
    # when it compiles the template; compiled templates are cached between
    # builds, so a cache made under the old address must not serve them.
    site.config = replace(site.config, base_url="https://old.example/first/")
    site.build()
    site.config = replace(site.config, base_url="https://new.example/second/")
    site.build()
    fresh = Site(tmp_path / "fresh")
    fresh.config = replace(fresh.config, base_url="https://new.example/second/")
    fresh.build()
    files = site.files()
    assert files == fresh.files()
    assert not [rel for rel, data in files.items() if b"/first/" in data]
    assert b'href="/second/archive/"' in files["index.html"]


def test_corrupt_cache_is_detected_and_rebuilt(site: Site) -> None:
    site.build()
    database = next(site.config.cache_dir.glob("build-*.sqlite"))
    for suffix in ("-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    database.write_bytes(b"this is not a database" * 100)
    report = site.build()
    assert report.cache_note and report.parsed == 5
    assert len(report.articles) == 5


def test_user_files_in_the_output_are_kept(site: Site) -> None:
    site.build()
    (site.output / "CNAME").write_text("timeline.example.org\n")
    (site.output / "extra").mkdir()
    (site.output / "extra" / "notes.txt").write_text("mine")
    (site.content / "004_33d1c6b35f764fa2.txt").unlink()
    site.build()
    assert (site.output / "CNAME").read_text() == "timeline.example.org\n"
    assert (site.output / "extra" / "notes.txt").read_text() == "mine"
    site.build(clean=True)
    assert (site.output / "CNAME").exists()


def test_output_folder_that_contains_the_content_is_refused(site: Site, tmp_path: Path) -> None:
    from generator.write import OutputError
    with pytest.raises(OutputError):
        site.build(output=tmp_path)


def test_incremental_equals_clean_over_random_changes(site: Site, tmp_path: Path) -> None:
    rng = random.Random(20240911)
    site.build()
    names = [p.name for p in site.content.iterdir()]
    for step in range(12):
        action = rng.choice(["add", "add", "edit", "delete"])
        if action == "add" or len(names) < 3:
            number = 100 + step
            month = rng.randint(1, 12)
            name = f"step{step}.txt"
            (site.content / name).write_text(
                make_article(number, rng.randint(1, 28), f"第{number}号：泽连斯基谈援助", month,
                             rng.choice([2022, 2023, 2024])), encoding="utf-8")
            names.append(name)
        elif action == "edit":
            path = site.content / rng.choice(names)
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("乌克兰", "烏克蘭", 1), encoding="utf-8")
        else:
            name = rng.choice(names)
            (site.content / name).unlink()
            names.remove(name)
        site.build()
        clean_out = tmp_path / f"clean{step}"
        site.build(clean=True, output=clean_out)
        assert site.files() == site.files(clean_out), f"step {step}: {action}"


def test_parallel_parse_and_render_equal_serial(site: Site, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import generator.pipeline as pipeline
    for number in range(30):
        (site.content / f"extra{number}.txt").write_text(
            make_article(300 + number, 1 + number % 28, f"第{number}篇：泽连斯基与北约"),
            encoding="utf-8")
    serial = tmp_path / "serial"
    build(BuildOptions(site.content, serial, ROOT, replace(site.config, cache_dir=None),
                       workers=1, search=False, use_cache=False))
    monkeypatch.setattr(pipeline, "PARALLEL_THRESHOLD", 1)
    parallel = tmp_path / "parallel"
    report = build(BuildOptions(site.content, parallel, ROOT, site.config, workers=2,
                                search=False))
    assert report.rendered > 100
    assert site.files(parallel) == site.files(serial)


def tamper_with_cache(site: Site, statement: str) -> None:
    """Run one SQL statement on the site's cache database behind the generator's back."""
    import sqlite3
    database = sqlite3.connect(next(site.config.cache_dir.glob("build-*.sqlite")))
    database.execute(statement)
    database.commit()
    database.close()


def test_cache_from_another_version_is_not_trusted(site: Site) -> None:
    site.build()
    tamper_with_cache(site, "UPDATE info SET value = '0.0.1' WHERE name = 'generator'")
    (site.content / "new.txt").write_text(make_article(9, 3, "新文章：泽连斯基"), encoding="utf-8")
    report = site.build()
    assert report.cache_note and "0.0.1" in report.cache_note
    assert report.parsed == 6 and report.cached == 0


def test_output_folder_that_contains_the_project_is_refused(site: Site) -> None:
    from generator.write import OutputError
    with pytest.raises(OutputError, match="project"):
        build(BuildOptions(site.content, ROOT, ROOT, site.config, workers=1, search=False))


def test_a_body_lost_from_the_cache_is_read_again_from_its_file(site: Site) -> None:
    site.build()
    tamper_with_cache(site, "UPDATE parsed SET body = NULL")
    template_change = site.config.title + "（新）"
    site.config = replace(site.config, title=template_change)  # every page re-renders
    report = site.build()
    assert report.rendered > 50
    assert "北约秘书长斯托尔腾贝格星期二对媒体表示" in \
        site.files()["articles/voa-6786297/index.html"].decode()

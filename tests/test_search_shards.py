"""The search index in shards: each article indexed once, shards rebuilt only
when their articles change, stale shard folders deleted, and Pagefind runs
bounded by the number of CPUs (generator/search.py)."""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest

from generator import search
from generator.pipeline import BuildOptions, build
from generator.report import BuildReport
from tests.conftest import ROOT, site_config
from tests.sharded_site import SHARD_SIZE, filler_article, filler_slug, indexed_urls, \
    shard_folders, write_sharded_content

BASE_PATH = "/repo/"


def _build(tmp_path: Path, content: Path) -> BuildReport:
    config = replace(site_config("https://user.github.io" + BASE_PATH),
                     cache_dir=tmp_path / ".cache")
    return build(BuildOptions(content, tmp_path / "public", ROOT, config, workers=1))


def _under(report: BuildReport, folder: str) -> set[str]:
    return {r for r in report.written.written + report.written.unchanged
            if r.startswith(folder + "/")}


def _written(report: BuildReport, folder: str) -> set[str]:
    return {r for r in report.written.written if r.startswith(folder + "/")}


def _check_each_article_in_one_shard(site: Path, report: BuildReport) -> None:
    folders = shard_folders(site)
    by_shard = {folder: indexed_urls(site / folder) for folder in folders}
    everywhere = [url for urls in by_shard.values() for url in urls]
    # Pagefind stores root-relative URLs; the browser adds the sub-path (baseUrl).
    expected = sorted(f"/articles/{a.slug}/" for a in report.articles)
    assert sorted(everywhere) == expected  # each published article once, in one shard
    for folder, urls in by_shard.items():
        number = folders.index(folder)
        assert all(search.shard_of(u.split("/")[-2], len(folders)) == number for u in urls)
        entry = json.loads((site / folder / "pagefind-entry.json").read_text(encoding="utf-8"))
        assert sum(lang["page_count"] for lang in entry["languages"].values()) == len(urls)


def _check_manifest_lists_every_index_file(site: Path, folders: list[str]) -> None:
    manifest = json.loads((site / ".timeline-manifest.json").read_text(encoding="utf-8"))
    prefixes = tuple(f.rstrip("/") + "/" for f in folders)
    on_disk = {p.relative_to(site).as_posix() for p in site.rglob("*")
               if p.is_file() and p.relative_to(site).as_posix().startswith("pagefind")}
    assert {r for r in manifest["files"] if r.startswith("pagefind")} == on_disk
    assert {p.split("/")[0] + "/" for p in on_disk} == set(prefixes)
    assert {g for g in manifest["groups"] if g.startswith("pagefind")} == set(prefixes)


def test_shard_count_depends_on_the_number_of_articles_only() -> None:
    assert search.SHARD_ARTICLES == 4000 and search.MAX_SHARDS == 8
    counts = {n: search.shard_count(n) for n in (0, 1, 3999, 7999, 8000, 10_000, 12_000,
                                                  10**6)}
    assert counts == {0: 1, 1: 1, 3999: 1, 7999: 1, 8000: 2, 10_000: 2, 12_000: 3, 10**6: 8}
    assert [search.shard_folder(i) for i in range(3)] == ["pagefind", "pagefind-1",
                                                          "pagefind-2"]
    assert search.shard_of("voa-7779883", 3) == search.shard_of("voa-7779883", 3)


def test_a_small_site_keeps_one_index_in_pagefind(tmp_path: Path) -> None:
    _build(tmp_path, ROOT / "content" / "articles")
    site = (tmp_path / "public").resolve()
    assert shard_folders(site) == ["pagefind/"]
    assert not list(site.glob("pagefind-*"))


def test_sharded_index_is_complete_incremental_and_shrinks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SHARD_ARTICLES", SHARD_SIZE)
    content = tmp_path / "content"
    write_sharded_content(content, fillers=24, shards=3)  # 5 real + 24 + 1 = 30: 3 shards
    first = _build(tmp_path, content)
    site = (tmp_path / "public").resolve()
    assert len(first.articles) == 30 and not first.errors
    folders = shard_folders(site)
    assert folders == ["pagefind/", "pagefind-1/", "pagefind-2/"]
    _check_each_article_in_one_shard(site, first)
    _check_manifest_lists_every_index_file(site, folders)

    # One more article (31 // 10: still 3 shards) re-indexes only its shard.
    rel, data = filler_article(24)
    (content / rel).write_bytes(data)
    home = search.shard_folder(search.shard_of(filler_slug(24), 3))
    added = _build(tmp_path, content)
    site = (tmp_path / "public").resolve()
    assert _written(added, home) and f"/articles/{filler_slug(24)}/" in \
        indexed_urls(site / home)
    for folder in ("pagefind", "pagefind-1", "pagefind-2"):
        if folder != home:
            assert not _written(added, folder) and _under(added, folder) == _under(first, folder)
    _check_each_article_in_one_shard(site, added)
    _check_manifest_lists_every_index_file(site, folders)

    # Two reports removed: 29 // 10 = 2 shards; the third shard's folder goes
    # like any page no longer produced, and the manifest forgets its group.
    for index in (23, 24):
        (content / filler_article(index)[0]).unlink()
    shrunk = _build(tmp_path, content)
    site = (tmp_path / "public").resolve()
    assert shard_folders(site) == ["pagefind/", "pagefind-1/"]
    assert not (site / "pagefind-2").exists()
    assert _under(added, "pagefind-2") <= set(shrunk.written.deleted)
    _check_each_article_in_one_shard(site, shrunk)
    _check_manifest_lists_every_index_file(site, ["pagefind/", "pagefind-1/"])

    # Only a file's mtime changed (past the nothing-changed shortcut): every
    # shard is kept, Pagefind does not run.
    touched = content / filler_article(0)[0]
    os.utime(touched, (time.time() + 5, time.time() + 5))
    again = _build(tmp_path, content)
    assert again.written.written == () and again.written.deleted == ()


def _fake_pagefind(folder: Path, journal: Path) -> Path:
    """A stand-in for the Pagefind binary that logs when it starts and ends."""
    script = folder / "fake-pagefind"
    script.write_text(f"#!/bin/sh\necho \"start $2 $(date +%s.%N)\" >> {journal}\nsleep 0.4\n"
                      f"mkdir -p \"$6\"\necho \"end $2 $(date +%s.%N)\" >> {journal}\n",
                      encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_shard_runs_are_bounded_and_start_each_other(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    binary = _fake_pagefind(tmp_path, journal)
    runs = [search.ShardRun(i, tmp_path / f"site-{i}", tmp_path / f"index-{i}",
                            tmp_path / f"log-{i}") for i in range(5)]
    runner = search.ShardRunner(binary, runs, slots=2)
    deadline = time.monotonic() + 30
    while not journal.exists() or journal.read_text().count("end") < 5:
        assert time.monotonic() < deadline, "the waiting shards were never started"
        time.sleep(0.05)
    runner.wait()  # all five ran before anyone waited: the runner chains them itself
    events = sorted((float(t), kind) for kind, _, t in
                    (line.split() for line in journal.read_text().splitlines()))
    running = peak = 0
    for _, kind in events:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    assert peak == 2 and all(run.target.is_dir() for run in runs)


def test_a_failed_shard_fails_the_build_and_leaves_the_live_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SHARD_ARTICLES", SHARD_SIZE)
    content = tmp_path / "content"
    write_sharded_content(content, fillers=14, shards=2)
    _build(tmp_path, content)
    live = (tmp_path / "public").resolve()
    broken = tmp_path / "broken-pagefind"
    broken.write_text("#!/bin/sh\necho 'index exploded' >&2\nexit 3\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setattr(search, "pagefind_binary", lambda: broken)
    rel, data = filler_article(14)
    (content / rel).write_bytes(data)
    with pytest.raises(search.SearchIndexError, match="index exploded"):
        _build(tmp_path, content)
    assert (tmp_path / "public").resolve() == live

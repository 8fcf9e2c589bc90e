"""Rebuilds in one long-running process (the watch server's): what the last
build decoded and keyed is reused, and never makes a page differ from a
build in a fresh process."""

from __future__ import annotations

import copy
import json
import random
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import pytest

import generator.cache as cache_module
import generator.codec as codec
import generator.collect as collect
import generator.groups as groups
import generator.linkstate as linkstate
import generator.pipeline as pipeline
import generator.render as render
import generator.write as write
from generator.discover import ContentScan
from generator.pipeline import BuildOptions, build
from tests.conftest import ROOT
from tests.test_incremental import Site, make_article


def forget_everything_resident() -> None:
    """What a fresh process starts with."""
    cache_module._DECODED.forget()
    render.RESIDENT.base_key, render.RESIDENT.entries = "", {}
    render.RUNS.base_key, render.RUNS.runs = "", {}
    render.FINGERPRINTS.forget()
    render.SITEMAP_ENTRIES.forget()
    render.RUN_TOKENS.forget()
    collect._Aliases._last = {}
    write._WRITTEN.forget()
    write._ENTRY_TEXTS.forget()
    write._FOLDER_TREES.forget()
    linkstate.RESIDENT.forget()
    groups.LAST.forget()
    pipeline.RESIDENT_PARSE = pipeline.ResidentParse()
    pipeline.CONTENT_SCAN = ContentScan()
    cache_module._STATS = cache_module._StatsMirror()


@contextmanager
def as_a_fresh_process() -> Iterator[None]:
    """Run with nothing in memory, then give this process its memory back."""
    decoded, memo, runs = cache_module._DECODED, render.RESIDENT, render.RUNS
    kept = (decoded.path, decoded.outcomes, memo.base_key, memo.entries, runs.base_key,
            runs.runs)
    per_article = [copy.copy(m) for m in (render.FINGERPRINTS, render.SITEMAP_ENTRIES,
                                          render.RUN_TOKENS)]
    aliases, manifests = collect._Aliases._last, dict(write._WRITTEN._by_folder)
    writer_memos = copy.copy(write._ENTRY_TEXTS), copy.copy(write._FOLDER_TREES)
    kept_links, kept_groups = dict(vars(linkstate.RESIDENT)), groups.LAST.groups
    kept_scans = pipeline.RESIDENT_PARSE, pipeline.CONTENT_SCAN, cache_module._STATS
    forget_everything_resident()
    try:
        yield
    finally:
        (decoded.path, decoded.outcomes, memo.base_key, memo.entries, runs.base_key,
         runs.runs) = kept
        render.FINGERPRINTS, render.SITEMAP_ENTRIES, render.RUN_TOKENS = per_article
        collect._Aliases._last, write._WRITTEN._by_folder = aliases, manifests
        write._ENTRY_TEXTS, write._FOLDER_TREES = writer_memos
        vars(linkstate.RESIDENT).update(kept_links)
        groups.LAST.groups = kept_groups
        pipeline.RESIDENT_PARSE, pipeline.CONTENT_SCAN, cache_module._STATS = kept_scans


def test_a_second_build_in_the_same_process_decodes_no_cached_article_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = Site(tmp_path)
    (site.content / "extra.txt").write_text(make_article(1, 3, "泽连斯基会见北约秘书长"),
                                            encoding="utf-8")
    site.build()
    (site.content / "extra.txt").unlink()
    site.build()  # now every remaining file's outcome came from the cache once
    decoded: list[bytes] = []
    real = codec.decode_outcome
    monkeypatch.setattr(codec, "decode_outcome", lambda blob: decoded.append(blob) or real(blob))
    (site.content / "added.txt").write_text(make_article(2, 4, "普京与埃尔多安通电话"),
                                            encoding="utf-8")
    report = site.build()
    assert report.parsed == 1 and report.cached == len(list(site.content.iterdir())) - 1
    assert decoded == []


def test_a_fresh_process_decodes_the_cached_articles(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The other side of the test above: the count it holds at zero is real."""
    site = Site(tmp_path)
    site.build()
    forget_everything_resident()
    decoded: list[bytes] = []
    real = codec.decode_outcome
    monkeypatch.setattr(codec, "decode_outcome", lambda blob: decoded.append(blob) or real(blob))
    (site.content / "added.txt").write_text(make_article(2, 4, "普京与埃尔多安通电话"),
                                            encoding="utf-8")
    site.build()
    assert len(decoded) == len(list(site.content.iterdir())) - 1


def test_a_rebuild_in_the_same_process_asks_the_cache_only_about_changed_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = Site(tmp_path)
    site.build()
    asked: list[int] = []
    real = cache_module.BuildCache.get_outcomes
    monkeypatch.setattr(cache_module.BuildCache, "get_outcomes",
                        lambda self, keys: (keys := set(keys), asked.append(len(keys)),
                                            real(self, keys))[2])
    def add(number: int) -> int:
        """Add an article (so the next build has something to do); how many
        files were there before."""
        before = len(list(site.content.iterdir()))
        (site.content / f"added{number}.txt").write_text(
            make_article(number, 4, f"第{number}号：普京与埃尔多安通电话"), encoding="utf-8")
        return before

    earlier = add(1)
    report = site.build()
    assert asked == [0]  # the new file is parsed; the others are the last build's
    assert report.parsed == 1 and report.cached == earlier
    # A fresh process, and one whose cache another process wrote since, ask
    # about every earlier file.
    with as_a_fresh_process():
        earlier = add(2)
        site.build()
    assert asked[-1] == earlier
    earlier = add(3)
    site.build()
    assert asked[-1] == earlier
    add(4)
    site.build()
    assert asked[-1] == 0


@pytest.mark.parametrize("seed", [7, 8])
def test_rebuilds_in_one_process_equal_clean_builds_in_a_fresh_one(
        seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adds, title edits (which change the article's page, its neighbours'
    links, its tag and month pages) and deletions, each rebuilt in this
    process, against a clean build that starts with nothing in memory (and
    with a cache of its own, so that this process's builds go on from the
    links they kept in memory)."""
    site = Site(tmp_path)
    rng = random.Random(seed)
    site.build()
    computed: list[int] = []
    real = linkstate.compute_links
    monkeypatch.setattr(linkstate, "compute_links",
                        lambda *args: computed.append(1) or real(*args))
    names: list[str] = []
    steps = 10
    for step in range(steps):
        action = rng.choice(["add", "add", "retitle", "delete"]) if names else "add"
        # As the watch server builds: told which path changed (see ContentScan).
        changed = site.content / (f"step{step}.txt" if action == "add" else rng.choice(names))
        if action == "add":
            name = changed.name
            (site.content / name).write_text(
                make_article(200 + step, rng.randint(1, 28), f"第{step}号：泽连斯基谈援助",
                             rng.randint(1, 12)), encoding="utf-8")
            names.append(name)
        elif action == "retitle":
            text = changed.read_text(encoding="utf-8")
            changed.write_text(text.replace("谈援助", "再谈援助", 1), encoding="utf-8")
        else:
            names.remove(changed.name)
            changed.unlink()
        before = len(computed)
        site.build(changed=frozenset({str(changed)}))
        kept_links = len(computed) == before
        reference = tmp_path / f"reference{step}"
        # A copy of the content: another cache file (the cache is per content
        # folder), which the clean build deletes and makes instead of this one.
        content = shutil.copytree(site.content, tmp_path / f"content{step}")
        with as_a_fresh_process():
            build(BuildOptions(content, reference, site.project, site.config, workers=1,
                               clean=True, search=False))
        assert site.files() == site.files(reference), f"step {step}: {action}"
        # The render keys and group digests made from what this process kept
        # are the ones a fresh process makes (else the next build in a fresh
        # process would render pages again, or keep the wrong ones).
        assert _keys(site.output) == _keys(reference), f"step {step}: {action}"
        steps -= kept_links
    assert steps <= 2  # nearly every rebuild updated the links it kept in memory


def _keys(output: Path) -> tuple[object, object]:
    manifest = json.loads((output / ".timeline-manifest.json").read_text(encoding="utf-8"))
    return manifest["files"], manifest["groups"]


def test_the_memo_recomputes_when_inputs_differ_and_reuses_equal_ones() -> None:
    memo = render.ResidentMemo()
    calls: list[str] = []

    def compute(value: str) -> str:
        calls.append(value)
        return value.upper()

    assert memo.recall("base", "page", ("a", (1, 2)), lambda: compute("a")) == "A"
    # Equal values in new objects: reused, not computed.
    assert memo.recall("base", "page", ("a", tuple([1, 2])), lambda: compute("x")) == "A"
    assert memo.recall("base", "page", ("a", (1, 3)), lambda: compute("b")) == "B"
    assert memo.recall("base", "other", ("a", (1, 3)), lambda: compute("c")) == "C"
    # Another base key (templates, settings): nothing is reused.
    assert memo.recall("base2", "page", ("a", (1, 3)), lambda: compute("d")) == "D"
    assert calls == ["a", "b", "c", "d"]


def test_inputs_that_cannot_be_compared_are_computed_again() -> None:
    class Unequal:
        def __eq__(self, other: object) -> bool:
            raise ValueError("no comparison")

    memo = render.ResidentMemo()
    thing = Unequal()
    assert memo.recall("base", "page", (thing,), lambda: 1) == 1
    assert memo.recall("base", "page", (Unequal(),), lambda: 2) == 2


def _add(site: Site, name: str, number: int, day: int, month: int = 9) -> None:
    (site.content / name).write_text(make_article(number, day, f"第{number}号：泽连斯基谈援助",
                                                  month), encoding="utf-8")


def _clean_reference(site: Site, output: Path) -> dict[str, bytes]:
    with as_a_fresh_process():
        site.build(clean=True, output=output)
    return site.files(output)


def test_hand_damaged_output_is_repaired_by_a_build_in_the_same_process(
        tmp_path: Path) -> None:
    """Between two in-process builds a kept page is edited and another is
    deleted by hand, in groups the change does not touch: what this process
    remembers of the last build must not keep them."""
    site = Site(tmp_path)
    site.build()
    _add(site, "first.txt", 301, 3)
    site.build()  # the memos now hold the site as it is live
    live = site.output.resolve()
    edited, deleted = live / "2022/10/index.html", live / "articles/voa-6786297/index.html"
    edited.write_bytes(b"edited by hand")
    deleted.unlink()
    _add(site, "second.txt", 302, 5)
    report = site.build()
    assert {"2022/10/index.html", "articles/voa-6786297/index.html"} <= \
        set(report.written.written)
    assert site.files() == _clean_reference(site, tmp_path / "reference")


def test_a_template_change_between_builds_in_one_process_reaches_every_page(
        tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copytree(ROOT / "static", project / "static")
    site = Site(tmp_path, project)
    site.build()
    _add(site, "first.txt", 311, 3)
    site.build()
    summary = '<p class="card-summary">'
    for name, old, new in (("_macros.html", summary, summary + "<!-- card -->"),
                           ("article.html", "阅读原文", "查看原文")):
        template = project / "templates" / name
        text = template.read_text(encoding="utf-8")
        assert old in text
        template.write_text(text.replace(old, new), encoding="utf-8")
    _add(site, "second.txt", 312, 5)
    site.build()
    files = site.files()
    assert "查看原文".encode() in files["articles/voa-8000312/index.html"]
    assert b"<!-- card -->" in files["2022/10/index.html"]
    assert files == _clean_reference(site, tmp_path / "reference")


def test_another_output_folder_in_the_same_process_equals_a_clean_build(
        tmp_path: Path) -> None:
    site = Site(tmp_path)
    site.build()
    _add(site, "first.txt", 321, 3)
    site.build()
    other = tmp_path / "other"
    site.build(output=other)
    _add(site, "second.txt", 322, 5, month=10)
    site.build(output=other)
    assert site.files(other) == _clean_reference(site, tmp_path / "reference")


# -- runs of articles kept in step between builds --------------------------------
class Item:
    """A stand-in for an Article: the run memo only compares identities."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def _names(items: Sequence[Item]) -> list[str]:
    return [item.name for item in items]


def test_a_run_s_values_are_remade_only_for_the_articles_that_changed() -> None:
    memo = render.RunMemo()
    made: list[str] = []

    def make(items: Sequence[Item]) -> list[str]:
        made.extend(_names(items))
        return [item.name.upper() for item in items]

    first = tuple(Item(c) for c in "abcdef")
    assert memo.values("base", "run", first, make) == list("ABCDEF")
    inserted = first[:3] + (Item("x"),) + first[3:]
    made.clear()
    assert memo.values("base", "run", inserted, make) == list("ABCXDEF")
    assert made == ["x"]
    made.clear()
    assert memo.values("base", "run", inserted[1:], make) == list("BCXDEF")
    assert made == []
    made.clear()
    # An equal item that is another object is another article.
    replaced = inserted[1:4] + (Item("d"),) + inserted[5:]
    assert memo.values("base", "run", replaced, make) == list("BCXDEF")
    assert made == ["d"]
    made.clear()
    assert memo.values("other base", "run", replaced, make) == list("BCXDEF")
    assert made == _names(replaced)


def test_a_run_kept_in_step_equals_one_made_whole() -> None:
    """Random inserts, deletes and replacements anywhere, repeated items
    included (a run's common ends may overlap)."""
    rng = random.Random(11)
    pool = [Item(f"i{n}") for n in range(12)]
    memo = render.RunMemo()
    run: list[Item] = []
    for _ in range(400):
        action = rng.choice(["insert", "delete", "replace", "shuffle"])
        if action == "insert" or not run:
            run.insert(rng.randint(0, len(run)), rng.choice(pool))
        elif action == "delete":
            del run[rng.randrange(len(run))]
        elif action == "replace":
            run[rng.randrange(len(run))] = rng.choice(pool)
        else:
            rng.shuffle(run)
        values = memo.values("base", "run", tuple(run), lambda items: _names(items))
        assert values == _names(run)


def test_months_read_from_local_month_equal_months_converted_again(tmp_path: Path) -> None:
    """by_month and counts_by_month read the month decided at parse time (or
    convert the time when it was not decided): the same answer as converting
    every article's time in the site's zone."""
    from dataclasses import replace
    from itertools import groupby

    from generator.collect import by_month, local
    from generator.events import counts_by_month

    site = Site(tmp_path)
    articles = list(site.build().articles)
    zone = site.config.zone
    undecided = [replace(a, local_month=(0, 0)) if n % 2 else a for n, a in enumerate(articles)]

    def month(a: object) -> tuple[int, int]:
        when = local(a.published, zone)  # type: ignore[attr-defined]
        return when.year, when.month

    expected = [(y, m, [a.slug for a in run]) for (y, m), run in groupby(articles, key=month)]
    counts: dict[tuple[int, int], int] = {}
    for article in articles:
        counts[month(article)] = counts.get(month(article), 0) + 1
    for run in (articles, undecided):
        assert [(m.year, m.month, [a.slug for a in m.articles])
                for m in by_month(run, zone)] == expected
        assert list(counts_by_month(run, zone).items()) == list(counts.items())
    assert by_month([], zone) == [] and counts_by_month([], zone) == {}


@pytest.mark.parametrize("warm", [True, False])
def test_a_warm_first_build_leaves_the_first_change_nothing_to_read_or_index(
        warm: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watch server's first build (warm) reads the spare generation's
    manifest and makes the link timeline and tag counts, so that the first
    change reads and indexes nothing again; without warm it does (which
    shows the counts below are real). Either way the site is exact."""
    site = Site(tmp_path)
    site.build()
    (site.content / "first.txt").write_text(make_article(2, 4, "普京与埃尔多安通电话"),
                                            encoding="utf-8")
    site.build()  # now the output has a spare generation, with a manifest
    forget_everything_resident()
    build(BuildOptions(site.content, site.output, site.project, site.config, workers=1,
                       search=False, skip_if_unchanged=False, warm=warm))
    read: list[Path] = []  # manifests read from disk (their mtimes file, with them)
    indexed: list[int] = []
    real_read, real_timeline = write._load_mtimes, linkstate._timeline
    monkeypatch.setattr(write, "_load_mtimes",
                        lambda folder, *args: read.append(folder) or real_read(folder, *args))
    monkeypatch.setattr(linkstate, "_timeline",
                        lambda *args: indexed.append(1) or real_timeline(*args))
    (site.content / "added.txt").write_text(make_article(3, 5, "泽连斯基会见北约秘书长"),
                                            encoding="utf-8")
    site.build()
    if warm:
        assert read == [] and indexed == []
    else:
        assert read and indexed
    reference = tmp_path / "reference"
    with as_a_fresh_process():
        build(BuildOptions(shutil.copytree(site.content, tmp_path / "copy"), reference,
                           site.project, site.config, workers=1, clean=True, search=False))
    assert site.files() == site.files(reference)


@pytest.mark.parametrize("warm", [True, False])
def test_a_warm_build_into_a_new_output_keys_its_pages_for_the_next_build(
        warm: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A watch server starting on an empty output renders every page (in
    workers, which make their keys); warm, the keys are also made in this
    process, so the first change makes only the changed articles' keys."""
    site = Site(tmp_path)
    for month in range(1, 13):  # enough articles that one more changes few pages
        (site.content / f"m{month}.txt").write_text(
            make_article(100 + month, 10, f"第{month}次会谈", month, 2023), encoding="utf-8")
    forget_everything_resident()
    build(BuildOptions(site.content, site.output, site.project, site.config, workers=1,
                       search=False, skip_if_unchanged=False, warm=warm))
    keyed: list[str] = []
    real = render.Renderer._article_key
    monkeypatch.setattr(render.Renderer, "_article_key",
                        lambda self, article, *rest: keyed.append(article.slug)
                        or real(self, article, *rest))
    (site.content / "added.txt").write_text(make_article(3, 5, "泽连斯基会见北约秘书长"),
                                            encoding="utf-8")
    site.build()
    total = len(list(site.content.iterdir()))
    assert len(keyed) < total / 2 if warm else len(keyed) == total
    reference = tmp_path / "reference"
    with as_a_fresh_process():
        build(BuildOptions(shutil.copytree(site.content, tmp_path / "copy"), reference,
                           site.project, site.config, workers=1, clean=True, search=False))
    assert site.files() == site.files(reference)
    assert _keys(site.output) == _keys(reference)

"""Parse workers: they store their files' cache rows themselves and send the
bodies back only when asked, fall back to sending every row when they cannot
store, and ask the kernel to read a chunk's files ahead."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import generator.pipeline as pipeline
from generator.cache import BuildCache
from generator.discover import FileEntry, discover
from generator.parse import ParseSettings, cache_key, fresh, parse_file
from generator.pipeline import (BuildOptions, build, parse_all, parse_settings, prefetch,
                                read_taxonomy)
from tests.conftest import ROOT, site_config


@pytest.fixture
def settings() -> ParseSettings:
    config = site_config()
    return parse_settings(config, read_taxonomy(config)[0])


@pytest.fixture
def entries(tmp_path: Path) -> list[FileEntry]:
    """The seed articles and one file no reader accepts (an outcome without an article)."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "articles", content)
    (content / "not-an-article.txt").write_bytes(b"\x00\x01 nothing to read")
    return discover(content)


@pytest.fixture
def in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "PARALLEL_THRESHOLD", 1)


def serial_bodies(entries: list[FileEntry], settings: ParseSettings) -> dict[str, bytes | None]:
    return {outcome.rel_path: body for outcome, _, body in
            (fresh(parse_file(entry, settings)) for entry in entries)}


def test_workers_store_every_row_and_send_no_bodies_unless_asked(
        tmp_path: Path, entries: list[FileEntry], settings: ParseSettings,
        in_workers: None) -> None:
    database = tmp_path / ".cache" / "build-test.sqlite"
    BuildCache(database).close()  # made and stamped by the build, as parse_stage finds it

    results = list(parse_all(entries, settings, 2, None, database, bodies_wanted=False))

    assert [fresh.outcome.rel_path for fresh, _ in results] == [e.rel_path for e in entries]
    assert all(stored and fresh.body is None for fresh, stored in results)
    expected = serial_bodies(entries, settings)
    assert expected["not-an-article.txt"] is None and len(expected) > 5
    cache = BuildCache(database)
    keys = {cache_key(fresh.outcome.digest, settings): fresh.outcome for fresh, _ in results}
    assert cache.get_outcomes(keys) == keys  # every row, the unreadable file's included
    stored = dict(cache.bodies(keys))
    for key, outcome in keys.items():
        body = expected[outcome.rel_path]
        assert stored[key] == (body.decode("utf-8") if body is not None else None)


def test_bodies_come_back_as_well_when_asked(tmp_path: Path, entries: list[FileEntry],
                                             settings: ParseSettings, in_workers: None) -> None:
    database = tmp_path / "build-test.sqlite"
    BuildCache(database).close()
    results = list(parse_all(entries, settings, 2, None, database, bodies_wanted=True))
    expected = serial_bodies(entries, settings)
    assert all(stored for _, stored in results)
    assert {fresh.outcome.rel_path: fresh.body for fresh, _ in results} == expected


def test_a_worker_that_cannot_store_sends_its_rows_back(tmp_path: Path,
                                                        entries: list[FileEntry],
                                                        settings: ParseSettings,
                                                        in_workers: None) -> None:
    not_a_database = tmp_path / "build-test.sqlite"
    not_a_database.write_bytes(b"this is no SQLite file" * 100)

    results = list(parse_all(entries, settings, 2, None, not_a_database, bodies_wanted=False))

    assert not any(stored for _, stored in results)
    assert {fresh.outcome.rel_path: fresh.body for fresh, _ in results} \
        == serial_bodies(entries, settings)


def test_a_build_reads_back_what_its_workers_stored(tmp_path: Path, content_copy: Path,
                                                    in_workers: None) -> None:
    config = replace(site_config(), cache_dir=tmp_path / ".cache")
    first = build(BuildOptions(content_copy, tmp_path / "first", ROOT, config, workers=2,
                               search=False))
    assert first.parsed == len(list(content_copy.iterdir())) and first.cached == 0
    again = build(BuildOptions(content_copy, tmp_path / "again", ROOT, config, workers=2,
                               search=False, skip_if_unchanged=False))
    assert again.parsed == 0 and again.cached == first.parsed
    assert files(tmp_path / "again") == files(tmp_path / "first")


def files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def test_prefetch_asks_the_kernel_to_read_each_readable_file_ahead(
        entries: list[FileEntry], monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "posix_fadvise"):
        pytest.skip("no posix_fadvise on this system")
    asked: list[tuple[int, int, int, int]] = []
    real = os.posix_fadvise

    def record(handle: int, offset: int, length: int, advice: int) -> None:
        asked.append((os.fstat(handle).st_ino, offset, length, advice))
        real(handle, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", record)
    gone = FileEntry("gone.txt", str(Path(entries[0].location).with_name("gone.txt")), 1, 1)
    prefetch([*entries, gone])  # a file deleted since it was found is parse_file's to report

    assert asked == [(os.stat(e.location).st_ino, 0, 0, os.POSIX_FADV_WILLNEED)
                     for e in entries]

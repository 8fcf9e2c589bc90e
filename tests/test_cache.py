"""The build cache: file stats and parsed outcomes kept exactly, blobs beside
the database that other code's or a rebuilt cache's never pass for this one's."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from generator import cache as cache_module
from generator.cache import BuildCache, FileStat
from generator.parse import ParseOutcome
from tests.conftest import parse_fixture


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / ".cache" / "build-test.sqlite"


def reopen(database: Path) -> BuildCache:
    return BuildCache(database)


def test_saved_file_stats_are_what_was_saved_however_they_changed(database: Path) -> None:
    cache = reopen(database)
    assert cache.file_stats() == {}
    first = {f"{n}.txt": FileStat(n, 10 * n, f"sha{n}") for n in range(50)}
    cache.save_file_stats(first)
    cache.close()
    cache = reopen(database)
    assert cache.file_stats() == first
    second = {rel: stat for rel, stat in first.items() if rel != "3.txt"}
    second["7.txt"] = FileStat(7, 71, "sha7b")
    second["new.txt"] = FileStat(1, 1, "new")
    cache.save_file_stats(second)
    cache.close()
    assert reopen(database).file_stats() == second


def test_file_stats_come_from_memory_only_while_no_one_else_wrote_them(database: Path) -> None:
    mine = {"a.txt": FileStat(1, 10, "sha-a")}
    cache = reopen(database)
    cache.file_stats()
    cache.save_file_stats(mine)
    cache.close()
    cache = reopen(database)
    assert cache.file_stats() == mine and cache.as_left
    cache.close()
    # Another process (a build from the command line) writes the table and
    # its own stamp; an older generator writes the table without any.
    import sqlite3

    for stamp in ("another process's", None):
        with sqlite3.connect(database) as other:
            other.execute("INSERT OR REPLACE INTO files VALUES ('b.txt', 2, 20, 'sha-b')")
            other.execute("DELETE FROM info WHERE name = 'files-stamp'")
            if stamp is not None:
                other.execute("INSERT INTO info VALUES ('files-stamp', ?)", (stamp,))
        other.close()
        cache = reopen(database)
        assert cache.file_stats() == {**mine, "b.txt": FileStat(2, 20, "sha-b")}
        assert not cache.as_left
        cache.close()


def many_outcomes(count: int) -> dict[str, ParseOutcome]:
    outcome = parse_fixture("voa/feed_markdown_with_footer.txt").without_body()
    return {f"key{n}": outcome for n in range(count)}


@pytest.mark.parametrize("count", [5, 1200])  # a lookup per key, one pass over the table
def test_outcomes_are_found_by_key_and_pruned_to_the_kept_ones(database: Path,
                                                              count: int) -> None:
    cache = reopen(database)
    outcomes = many_outcomes(count)
    cache.put_outcomes((key, outcome, "<p>body</p>") for key, outcome in outcomes.items())
    wanted = [f"key{n}" for n in range(0, count, 2)] + ["missing"]
    found = cache.get_outcomes(wanted)
    assert found == {key: outcomes[key] for key in wanted if key in outcomes}
    cache.prune_outcomes(wanted)
    cache.close()
    cache = reopen(database)
    assert set(cache.get_outcomes(outcomes)) == set(wanted) - {"missing"}
    assert dict(cache.bodies(["key0", "key1"])) == {"key0": "<p>body</p>"}


def test_last_build_is_found_only_with_its_signature(database: Path) -> None:
    cache = reopen(database)
    assert cache.last_build("sig") is None and cache.last_report() is None
    cache.save_last_build("sig", {"a": "report"})
    cache.close()
    cache = reopen(database)
    assert cache.last_build("sig") == {"a": "report"}
    assert cache.last_build("other") is None
    assert cache.last_report() == {"a": "report"}


def test_a_state_blob_of_other_code_or_damaged_is_not_found(database: Path) -> None:
    cache = reopen(database)
    cache.put_state("links", [1, 2, 3])
    assert cache.get_state("links") == [1, 2, 3]
    blob = database.with_name(database.name + ".state-links")
    with open(blob, "wb") as handle:  # the same blob, from another schema
        pickle.dump((cache_module.SCHEMA - 1, cache_module.__version__, "links"), handle)
        pickle.dump([1, 2, 3], handle)
    assert cache.get_state("links") is None
    blob.write_bytes(b"\x80\x05garbage")
    assert cache.get_state("links") is None


def test_a_cache_thrown_away_takes_its_blobs_along(database: Path) -> None:
    import sqlite3
    cache = reopen(database)
    cache.save_last_build("sig", "report")
    cache.put_state("links", "state")
    cache.put_outcomes([("key", many_outcomes(1)["key0"], None)])
    cache.close()
    db = sqlite3.connect(database)
    db.execute("UPDATE info SET value = '0.0.1' WHERE name = 'generator'")
    db.commit()
    db.close()
    cache = reopen(database)
    assert cache.rebuilt_reason is not None
    assert cache.last_build("sig") is None and cache.get_state("links") is None
    assert not list(database.parent.glob(database.name + ".*"))

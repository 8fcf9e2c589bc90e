"""Rebuilds in one long-running process (the watch server's): what the last
build decoded and keyed is reused, and never makes a page differ from a
build in a fresh process."""

from __future__ import annotations

import random
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

import generator.cache as cache_module
import generator.codec as codec
import generator.render as render
from tests.test_incremental import Site, make_article


def forget_everything_resident() -> None:
    """What a fresh process starts with."""
    cache_module._DECODED.forget()
    render.RESIDENT.base_key, render.RESIDENT.entries = "", {}


@contextmanager
def as_a_fresh_process() -> Iterator[None]:
    """Run with nothing in memory, then give this process its memory back."""
    decoded, memo = cache_module._DECODED, render.RESIDENT
    kept = (decoded.path, decoded.outcomes, memo.base_key, memo.entries)
    forget_everything_resident()
    try:
        yield
    finally:
        decoded.path, decoded.outcomes, memo.base_key, memo.entries = kept


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


def test_rebuilds_in_one_process_equal_clean_builds_in_a_fresh_one(tmp_path: Path) -> None:
    """Adds, title edits (which change the article's page, its neighbours'
    links, its tag and month pages) and deletions, each rebuilt in this
    process, against a clean build that starts with nothing in memory."""
    site = Site(tmp_path)
    rng = random.Random(7)
    site.build()
    names: list[str] = []
    for step in range(8):
        action = rng.choice(["add", "add", "retitle", "delete"]) if names else "add"
        if action == "add":
            name = f"step{step}.txt"
            (site.content / name).write_text(
                make_article(200 + step, rng.randint(1, 28), f"第{step}号：泽连斯基谈援助",
                             rng.randint(1, 12)), encoding="utf-8")
            names.append(name)
        elif action == "retitle":
            path = site.content / rng.choice(names)
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("谈援助", "再谈援助", 1), encoding="utf-8")
        else:
            name = names.pop(rng.randrange(len(names)))
            (site.content / name).unlink()
        site.build()
        reference = tmp_path / f"reference{step}"
        with as_a_fresh_process():
            site.build(clean=True, output=reference)
        assert site.files() == site.files(reference), f"step {step}: {action}"


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

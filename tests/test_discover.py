"""Finding content files: the full walk, and the watch server's scan of reported paths."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

from generator.discover import MAX_REPORTED, ContentScan, FileEntry, discover
from generator.serve import Generation, VisibleChanges, watch_loop


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def _seen(entries: list[FileEntry]) -> list[tuple[str, int, int]]:
    return [(e.rel_path, e.size, e.mtime_ns) for e in entries]


def test_a_scan_of_the_reported_paths_equals_a_full_walk_after_each_kind_of_change(
        tmp_path: Path) -> None:
    content = tmp_path / "content"
    _write(content / "a.txt", "a")
    _write(content / "old" / "b.txt", "b")
    _write(content / "old" / "deeper" / "c.txt", "c")
    outside = tmp_path / "elsewhere"
    scan = ContentScan()
    assert _seen(scan.scan(content)) == _seen(discover(content))

    def add() -> set[str]:
        return {_write(content / "new.txt", "new")}

    def edit() -> set[str]:
        return {_write(content / "a.txt", "a, longer now")}

    def delete() -> set[str]:
        os.remove(content / "new.txt")
        return {str(content / "new.txt")}

    def move_a_folder_in() -> set[str]:  # reported as the folder alone
        _write(outside / "moved" / "d.txt", "d")
        os.rename(outside / "moved", content / "moved")
        return {str(content / "moved")}

    def move_a_folder_out() -> set[str]:  # likewise
        os.rename(content / "old", outside / "old")
        return {str(content / "old")}

    def put_a_file_where_a_folder_was() -> set[str]:
        os.rename(content / "moved", outside / "moved2")
        return {_write(content / "moved", "now a file")}

    def change_what_is_not_content() -> set[str]:  # hidden, or another watched folder
        return {_write(content / ".swap", "x"), _write(content / ".git" / "HEAD", "x"),
                _write(outside / "template.html", "x")}

    steps = [add, edit, delete, move_a_folder_in, move_a_folder_out,
             put_a_file_where_a_folder_was, change_what_is_not_content]
    for step in steps:
        changed = step()
        assert _seen(scan.scan(content, frozenset(changed))) == _seen(discover(content))


def test_only_the_reported_paths_are_looked_at(tmp_path: Path) -> None:
    content = tmp_path / "content"
    _write(content / "a.txt", "a")
    scan = ContentScan()
    scan.scan(content)
    _write(content / "unreported.txt", "u")
    reported = _write(content / "reported.txt", "r")
    names = [e.rel_path for e in scan.scan(content, frozenset({reported}))]
    assert names == ["a.txt", "reported.txt"]
    # Without reported paths (the first build, or after a failed one) it walks.
    assert [e.rel_path for e in scan.scan(content, None)] == [
        "a.txt", "reported.txt", "unreported.txt"]


def test_a_flood_of_reported_paths_or_another_folder_is_walked_in_full(tmp_path: Path) -> None:
    content, other = tmp_path / "content", tmp_path / "other"
    _write(content / "a.txt", "a")
    _write(other / "x.txt", "x")
    scan = ContentScan()
    scan.scan(content)
    _write(content / "unreported.txt", "u")
    flood = frozenset(str(content / f"gone{n}.txt") for n in range(MAX_REPORTED + 1))
    assert "unreported.txt" in [e.rel_path for e in scan.scan(content, flood)]
    # A change to the folder itself (moved away, made again) is walked too.
    renamed = tmp_path / "renamed"
    os.rename(content, renamed)
    assert scan.scan(content, frozenset({str(content)})) == []
    os.rename(renamed, content)
    # Reported paths are only trusted for the folder the last scan walked.
    assert [e.rel_path for e in scan.scan(other, frozenset())] == ["x.txt"]


def test_the_watcher_filter_drops_only_hidden_paths_below_a_watched_folder(
        tmp_path: Path) -> None:
    root = tmp_path / ".config" / "site" / "content"  # hidden above the root: fine
    keep = VisibleChanges([str(root)])
    assert keep(None, str(root / "a.md"))
    assert keep(None, str(root / "a.md~"))  # a backup file is read by the build
    assert keep(None, str(root / "node_modules" / "x.txt"))
    assert not keep(None, str(root / ".a.md.swp"))
    assert not keep(None, str(root / ".git" / "index"))


def _watch_in_thread(content: Path, rebuild: Callable[..., str]
                     ) -> tuple[threading.Event, threading.Thread]:
    stop, armed = threading.Event(), threading.Event()
    thread = threading.Thread(target=watch_loop, daemon=True,
                              args=(rebuild, [content], Generation(), stop, 50, armed))
    thread.start()
    assert armed.wait(timeout=30)
    return stop, thread


def _wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_the_watch_loop_reports_changed_paths_and_none_after_a_failed_rebuild(
        tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    calls: list[frozenset[str] | None] = []

    def rebuild(on_live: Callable[[], None], changed: frozenset[str] | None) -> str:
        calls.append(changed)
        if len(calls) == 1:
            raise RuntimeError("a broken template")
        return "built"

    stop, thread = _watch_in_thread(content, rebuild)
    try:
        first = _write(content / "first.txt", "1")
        _write(content / ".hidden", "not a change")
        _wait_until(lambda: len(calls) == 1)
        _write(content / "second.txt", "2")
        _wait_until(lambda: len(calls) == 2)
        third = _write(content / "third.txt", "3")
        _wait_until(lambda: len(calls) == 3)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert calls[0] == frozenset({first})
    assert calls[1] is None  # the failed rebuild may not have looked at first.txt
    assert calls[2] == frozenset({third})


def test_a_scan_returns_a_list_the_caller_may_change(tmp_path: Path) -> None:
    content = tmp_path / "content"
    for n in range(3):
        _write(content / f"{n}.txt", "x")
    scan = ContentScan()
    scan.scan(content).clear()
    assert len(scan.scan(content, frozenset())) == 3

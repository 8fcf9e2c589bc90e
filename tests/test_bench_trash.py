"""The bench sets old outputs aside instead of deleting them before a timed build
(bench/trash.py says why), and deletes them only when nothing is being timed."""

from __future__ import annotations

from pathlib import Path

from bench.trash import SETTLE_S, Trash


def _site(root: Path) -> Path:
    (root / "a" / "2022").mkdir(parents=True)
    (root / "a" / "2022" / "index.html").write_text("<p>x</p>", encoding="utf-8")
    return root


def test_discarding_moves_the_output_aside_without_freeing_its_files(tmp_path: Path) -> None:
    site = _site(tmp_path / "out-gens")
    link = tmp_path / "out"
    link.symlink_to(site / "a")
    page_inode = (site / "a" / "2022" / "index.html").stat().st_ino
    slept: list[float] = []
    trash = Trash(tmp_path / "trash", min_free_bytes=0, sleep=slept.append)

    trash.discard(link)
    trash.discard(site)
    trash.discard(tmp_path / "never-made")  # nothing to move is no error

    assert not link.exists() and not link.is_symlink() and not site.exists()
    moved = sorted(p.name for p in (tmp_path / "trash").iterdir())
    assert moved == ["0-out", "1-out-gens"]
    assert (tmp_path / "trash" / "1-out-gens" / "a" / "2022" / "index.html").stat().st_ino \
        == page_inode
    assert slept == []


def test_emptying_deletes_the_trash_and_waits_only_when_asked(tmp_path: Path) -> None:
    slept: list[float] = []
    trash = Trash(tmp_path / "trash", min_free_bytes=0, sleep=slept.append, clock=lambda: 5.0)
    trash.discard(_site(tmp_path / "one"))
    assert trash.empty(settle=False) is True
    assert not (tmp_path / "trash").exists() and slept == []

    trash.discard(_site(tmp_path / "two"))
    assert trash.empty(settle=True) is True
    assert slept == [SETTLE_S]
    assert trash.empty(settle=True) is False  # already empty: no wait
    assert slept == [SETTLE_S]


def test_a_nearly_full_disk_empties_the_trash_at_once(tmp_path: Path) -> None:
    slept: list[float] = []
    trash = Trash(tmp_path / "trash", min_free_bytes=2**62, sleep=slept.append,
                  clock=lambda: 5.0)
    trash.discard(_site(tmp_path / "big"))
    assert not (tmp_path / "big").exists()
    assert not (tmp_path / "trash").exists()
    assert slept == [SETTLE_S]


def test_a_reused_name_does_not_overwrite_what_is_already_in_the_trash(tmp_path: Path) -> None:
    first = Trash(tmp_path / "trash", min_free_bytes=0, sleep=lambda _: None)
    first.discard(_site(tmp_path / "out"))
    # A later run numbers from 0 again while the earlier run's 0-out is still there.
    second = Trash(tmp_path / "trash", min_free_bytes=0, sleep=lambda _: None)
    second.discard(_site(tmp_path / "out"))
    assert sorted(p.name for p in (tmp_path / "trash").iterdir()) == ["0-out", "1-out"]


def test_a_run_started_right_after_another_waits_out_its_last_emptying(tmp_path: Path) -> None:
    now = [100.0]
    earlier = Trash(tmp_path / "trash", min_free_bytes=0, sleep=lambda _: None,
                    clock=lambda: now[0])
    earlier.discard(_site(tmp_path / "out"))
    earlier.empty(settle=False)  # the earlier run's last size: nothing timed after it

    now[0] += 20.0
    slept: list[float] = []
    later = Trash(tmp_path / "trash", min_free_bytes=0, sleep=slept.append,
                  clock=lambda: now[0])
    assert later.empty(settle=True) is False  # nothing left to delete
    later.settle()
    assert slept == [SETTLE_S - 20.0]

    now[0] += SETTLE_S
    later.settle()  # long after: no wait
    assert slept == [SETTLE_S - 20.0]
    Trash(tmp_path / "never", sleep=slept.append).settle()  # never emptied: no wait
    assert slept == [SETTLE_S - 20.0]


def test_a_cold_row_sets_our_caches_aside_with_the_output(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from bench.run import SizeBench

    corpus, snapshot, work = tmp_path / "corpus", tmp_path / "snapshot", tmp_path / "work"
    caches = [work / "run-10" / ".cache", corpus / ".cache", snapshot / ".cache"]
    for cache in caches:
        cache.mkdir(parents=True)
        (cache / "build.sqlite").write_bytes(b"rows")
    database = (snapshot / ".cache" / "build.sqlite").stat().st_ino
    _site(work / "run-10" / "out-ours")
    trash = Trash(tmp_path / "trash", min_free_bytes=0, sleep=lambda s: None)
    bench = SizeBench(10, SimpleNamespace(ours=corpus / "ours"),  # type: ignore[arg-type]
                      SimpleNamespace(generator_root=snapshot),  # type: ignore[arg-type]
                      work, 60.0, trash)

    bench.clear_ours()

    assert not any(cache.exists() for cache in caches)
    assert not (work / "run-10" / "out-ours").exists()
    kept = sorted(p.name for p in (tmp_path / "trash").iterdir())
    assert kept == ["0-out-ours", "1-.cache", "2-.cache", "3-.cache"]
    # Moved, not copied and deleted: nothing was freed before the timed build.
    assert database in {(p / "build.sqlite").stat().st_ino
                        for p in (tmp_path / "trash").iterdir() if p.name.endswith(".cache")}

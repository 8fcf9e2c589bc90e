"""The helper process that checks the live generation while a build runs
(generator/survey.py): its answer is the build's own, and nothing about it
can make a build wrong or leave anything behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

import generator.survey as survey_module
import generator.write as write_module
from generator.survey import LiveSurvey, survey
from generator.write import MANIFEST, Manifest, live_folder, load_manifest
from tests.conftest import ROOT
from tests.test_incremental import Site

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the helper is forked")

EDITED = "2022/10/index.html"
DELETED = "tags/index.html"


def _damage_by_hand(live: Path) -> None:
    """A page edited and another deleted by hand, and a file of the user's own."""
    (live / EDITED).write_bytes(b"edited by hand")
    (live / DELETED).unlink()
    (live / "CNAME").write_text("timeline.example.org\n")


def _build_twice(site: Site) -> None:
    """A first build, and one with a live generation to check (a change, so
    that it is not skipped as unchanged): the helper has been asked."""
    site.build()
    _remove_an_article(site, 0)
    site.build()


def _remove_an_article(site: Site, index: int) -> None:
    sorted(site.content.iterdir())[index].unlink()


def _built(tmp_path: Path) -> tuple[Site, Path, Manifest]:
    """A site built once, its live generation and that generation's manifest."""
    site = Site(tmp_path)
    site.build()
    live = live_folder(site.output)
    manifest = load_manifest(live)
    assert live is not None and manifest is not None
    return site, live, manifest


def _helper_pid() -> int:
    helper = survey_module._HELPER._helper
    assert helper is not None and helper.alive
    return helper.pid


def test_the_helpers_answer_is_the_one_this_process_would_find(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = Site(tmp_path)
    site.build()
    live = live_folder(site.output)
    assert live is not None
    _damage_by_hand(live)
    manifest = load_manifest(live)
    assert manifest is not None
    here = survey(live, manifest)
    assert {EDITED, DELETED} <= here.altered and here.user_files == ("CNAME",)
    asked = LiveSurvey.start(live, manifest)

    def not_here(*_: object) -> None:
        raise AssertionError("the answer was found in the build process")

    monkeypatch.setattr(survey_module, "survey", not_here)  # the helper has its own copy
    assert asked.findings() == here


def test_an_answer_about_another_generation_is_not_used(tmp_path: Path) -> None:
    _, live, manifest = _built(tmp_path)
    _damage_by_hand(live)
    # The build holds a manifest the helper will not find on disk: it must not
    # answer for the one it finds, and the build finds the answer itself.
    held = replace(manifest, generation=manifest.generation + 7,
                   files={EDITED: manifest.files[EDITED]})
    assert LiveSurvey.start(live, held).findings() == survey(live, held)
    # The helper is free and right again for the next build.
    assert LiveSurvey.start(live, manifest).findings() == survey(live, manifest)


def test_a_build_whose_helper_died_still_repairs_and_carries(tmp_path: Path) -> None:
    site = Site(tmp_path)
    _build_twice(site)
    first = _helper_pid()
    os.kill(first, signal.SIGKILL)
    _damage_by_hand(site.output.resolve())
    _remove_an_article(site, 0)
    report = site.build()
    assert {EDITED, DELETED} <= set(report.written.written)
    assert (site.output / "CNAME").read_text() == "timeline.example.org\n"
    assert (site.output / EDITED).read_bytes() != b"edited by hand"
    # The next build has a helper again.
    _remove_an_article(site, 0)
    site.build()
    assert _helper_pid() != first


def test_the_helper_holds_nothing_of_the_build_but_its_pipes(tmp_path: Path) -> None:
    """Not the cache database, the lock file or a server socket: they must be
    released when the build process lets go of them."""
    _build_twice(Site(tmp_path))
    folder = Path(f"/proc/{_helper_pid()}/fd")
    if not folder.exists():
        pytest.skip("no /proc to look into")
    held = {int(name): os.readlink(folder / name) for name in os.listdir(folder)}
    others = {fd: target for fd, target in held.items() if fd > 2}
    assert len(others) == 2 and all(t.startswith("pipe:") for t in others.values()), held


def test_the_helper_leaves_with_the_build_process(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from tests.test_incremental import Site\n"
        "import generator.survey as s\n"
        "from pathlib import Path\n"
        "from tests.test_survey import _build_twice\n"
        "_build_twice(Site(Path(sys.argv[1])))\n"
        "print(s._HELPER._helper.pid, flush=True)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=True)
    pid = int(done.stdout.split()[-1])
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid)


def _running(pid: int) -> bool:
    """Alive and not a zombie (the helper's parent is gone: init reaps it)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rpartition(")")[2].split()[0] != "Z"


def test_a_manifest_read_by_the_helper_is_the_live_one(tmp_path: Path) -> None:
    """The helper reads the live manifest from disk: a generation committed
    after it was forked is the one it answers for."""
    site = Site(tmp_path)
    _build_twice(site)
    live = live_folder(site.output)
    manifest = load_manifest(live)
    assert live is not None and manifest is not None and (live / MANIFEST).exists()
    (live / "notes.txt").write_text("mine")
    found = LiveSurvey.start(live, manifest).findings()
    assert found.user_files == ("notes.txt",) and not found.altered


def _spare_of(output: Path) -> Path:
    live = live_folder(output)
    assert live is not None
    return next(folder for folder in (live.parent / "a", live.parent / "b") if folder != live)


def _clean_build_files(site: Site, tmp_path: Path) -> dict[str, bytes]:
    clean = tmp_path / "clean"
    site.build(clean=True, output=clean)
    return site.files(clean)


def test_after_a_cold_build_the_helper_makes_the_spare_the_next_build_needs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The only generation went live, so the spare is empty: the helper links
    every live page into it while the build parses, and the build itself
    links none of them (it writes only what changed)."""
    site = Site(tmp_path)
    site.build()
    spare = _spare_of(site.output)
    assert not (spare / MANIFEST).exists()
    linked: list[str] = []
    # The helper was forked by the build above, with the real functions.
    monkeypatch.setattr(write_module, "_link_new", lambda _, target: linked.append(target))
    monkeypatch.setattr(write_module, "_share", lambda _, target: linked.append(str(target)))
    old_live = live_folder(site.output)
    _remove_an_article(site, 0)
    report = site.build()
    monkeypatch.undo()
    assert report.written.written and report.written.unchanged
    assert linked == []
    assert live_folder(site.output) == spare
    kept = report.written.unchanged[0]
    assert old_live is not None and (spare / kept).stat().st_ino == (old_live / kept).stat().st_ino
    assert site.files() == _clean_build_files(site, tmp_path)


def test_a_spare_the_helper_could_not_finish_is_made_again_by_the_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def half_then_fail(live: Path, manifest: Manifest, spare: Path) -> None:
        spare.mkdir(parents=True, exist_ok=True)
        for rel in list(manifest.files)[:len(manifest.files) // 2]:
            write_module._link_new(f"{live}/{rel}", f"{spare}/{rel}")
        raise OSError("no space left on device")

    # A helper of this test's own, forked with the failing mirror.
    monkeypatch.setattr(survey_module, "_HELPER", survey_module._HelperSlot())
    monkeypatch.setattr(survey_module, "mirror_generation", half_then_fail)
    site = Site(tmp_path)
    try:
        site.build()
        _remove_an_article(site, 0)
        report = site.build()
        assert report.written.written
        assert site.files() == _clean_build_files(site, tmp_path)
    finally:
        helper = survey_module._HELPER._helper
        if helper is not None:
            helper.stop()


def test_a_mirrored_spare_holds_the_live_pages_and_says_so(tmp_path: Path) -> None:
    _, live, manifest = _built(tmp_path)
    spare = tmp_path / "spare"
    (spare / "stale").mkdir(parents=True)  # whatever a spare held is gone
    write_module.mirror_generation(live, manifest, spare)
    found = {p.relative_to(spare).as_posix() for p in spare.rglob("*") if p.is_file()}
    assert found == set(manifest.files) | {MANIFEST}
    assert all((spare / rel).stat().st_ino == (live / rel).stat().st_ino
               for rel in manifest.files)
    # What the build assumes the helper wrote is what a later build reads.
    said = write_module.SpareManifest.mirror_of(manifest)
    write_module._WRITTEN.forget()
    read = write_module.SpareManifest.load(spare)
    assert read is not None and read.carried == said.carried == ()
    assert {rel: tuple(v[:2]) for rel, v in read.files.items()} == \
        {rel: tuple(v[:2]) for rel, v in said.files.items()}
    assert read.mtimes == said.mtimes


def test_changed_pages_wait_in_memory_while_the_helper_makes_the_spare(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build goes on rendering instead of waiting for the helper at its
    first changed page; a page past the memory limit claims the spare."""
    site = Site(tmp_path)
    site.build()
    monkeypatch.setattr(write_module, "DEFER_BYTES", 100)
    writer = write_module.SiteWriter(site.output)
    writer.survey_live()
    writer.put("notes/index.html", b"<p>new</p>")
    assert writer.spare is None  # not claimed: the helper may still be linking
    writer.put("notes/big/index.html", b"x" * 100)
    assert writer.spare == _spare_of(site.output)
    result = writer.finish()
    assert set(result.written) == {"notes/index.html", "notes/big/index.html"}
    assert (site.output / "notes/index.html").read_bytes() == b"<p>new</p>"
    assert len(result.unchanged) == 0 and len(result.deleted) > 0  # put nothing else

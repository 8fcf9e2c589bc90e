"""The writer's generations: what a new generation takes from the spare one,
and the user's files, wherever they are, in every generation."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from generator import write
from generator.write import MANIFEST, load_manifest, write_site


def live_files(output: Path) -> dict[str, bytes]:
    root = output.resolve()
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def spare_of(output: Path) -> Path:
    live = output.resolve()
    return next(write.gens_dir(output) / name for name in write.GENERATIONS
                if (write.gens_dir(output) / name).resolve() != live)


def site(**pages: bytes) -> dict[str, bytes]:
    return {name.replace("__", "/") + ".html": data for name, data in pages.items()}


def test_a_page_rewritten_in_the_last_build_is_linked_again_from_the_live_site(
        tmp_path: Path) -> None:
    # The spare generation still has the page as it was two builds ago; the
    # entry that differs from the live one must not be taken as shared.
    output = tmp_path / "public"
    write_site(output, site(a=b"A", b=b"B, first"))
    write_site(output, site(a=b"A", b=b"B, second"))
    write_site(output, site(a=b"A", b=b"B, second", c=b"C"))
    assert live_files(output) == site(a=b"A", b=b"B, second", c=b"C")
    write_site(output, site(a=b"A", b=b"B, second"))
    assert live_files(output) == site(a=b"A", b=b"B, second")


def test_unchanged_pages_stay_one_file_in_both_generations(tmp_path: Path) -> None:
    output = tmp_path / "public"
    pages = {f"p{n}.html": f"page {n}".encode() for n in range(20)}
    write_site(output, pages)
    for step in range(4):
        write_site(output, {**pages, "changing.html": f"step {step}".encode()})
        live, spare = output.resolve(), spare_of(output)
        for rel in pages:
            assert os.stat(live / rel).st_ino == os.stat(spare / rel).st_ino
        assert live_files(output) == {**pages, "changing.html": f"step {step}".encode()}


def test_a_spare_left_half_done_by_a_killed_build_is_redone(tmp_path: Path) -> None:
    output = tmp_path / "public"
    write_site(output, site(a=b"A", b=b"B1"))
    write_site(output, site(a=b"A", b=b"B2"))
    spare = spare_of(output)
    # A build claimed the spare (its manifest is gone) and was killed after
    # changing a page in it.
    (spare / MANIFEST).unlink()
    (spare / "a.html").unlink()
    (spare / "a.html").write_bytes(b"half-written")
    write_site(output, site(a=b"A", b=b"B2", c=b"C"))
    assert live_files(output) == site(a=b"A", b=b"B2", c=b"C")


# -- the user's files -----------------------------------------------------------
def brute_force_user_files(output: Path) -> list[str]:
    """Every file in the live generation that its manifest does not list."""
    live = output.resolve()
    manifest = load_manifest(live)
    assert manifest is not None
    return [rel for rel in write._relative_files(live)
            if rel != MANIFEST and rel not in manifest.files]


@pytest.fixture
def slow_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the clock tick before each manifest is written, so that the folders
    a build wrote are older than its manifest (as in any build that takes
    longer than the file system clock's step)."""
    save = write._save_manifest

    def later(folder: Path, manifest: write.Manifest) -> None:
        time.sleep(0.02)
        save(folder, manifest)

    monkeypatch.setattr(write, "_save_manifest", later)


def test_user_files_anywhere_are_kept_and_deleted_ones_stay_deleted(
        tmp_path: Path, slow_commit: None) -> None:
    output = tmp_path / "public"
    pages = {"index.html": b"home", "articles/a/index.html": b"A",
             "articles/b/index.html": b"B", "tags/x/index.html": b"X"}
    write_site(output, pages)
    (output / "CNAME").write_text("example.org")
    (output / "articles" / "a" / "notes.txt").write_text("mine, beside a page")
    (output / "extra" / "deep").mkdir(parents=True)
    (output / "extra" / "deep" / "data.json").write_text("{}")
    mine = {"CNAME": b"example.org", "articles/a/notes.txt": b"mine, beside a page",
            "extra/deep/data.json": b"{}"}
    for step in range(4):  # the files must reach both generations, and stay
        write_site(output, {**pages, "index.html": f"home {step}".encode()})
        assert live_files(output) == {**pages, "index.html": f"home {step}".encode(), **mine}
    (output / "articles" / "a" / "notes.txt").unlink()
    del mine["articles/a/notes.txt"]
    for step in range(3):
        write_site(output, {**pages, "index.html": f"again {step}".encode()})
        assert live_files(output) == {**pages, "index.html": f"again {step}".encode(), **mine}


def test_a_user_file_deleted_from_the_live_site_stays_deleted(tmp_path: Path) -> None:
    # The file was made in one generation and carried to the other; deleted
    # there, it must not come back when the generation it was made in is
    # live again.
    output = tmp_path / "public"
    pages = {"index.html": b"home", "articles/a/index.html": b"A"}
    write_site(output, pages)
    (output / "articles" / "a" / "notes.txt").write_text("mine")
    (output / "CNAME").write_text("example.org")
    write_site(output, {**pages, "index.html": b"1"})
    (output / "articles" / "a" / "notes.txt").unlink()
    for step in range(4):
        write_site(output, {**pages, "index.html": f"step {step}".encode()})
        assert live_files(output) == {**pages, "index.html": f"step {step}".encode(),
                                      "CNAME": b"example.org"}


def test_a_page_at_the_path_of_a_former_user_file_is_the_generators(tmp_path: Path) -> None:
    output = tmp_path / "public"
    write_site(output, {"index.html": b"home"})
    (output / "about.html").write_text("the user's")
    write_site(output, {"index.html": b"1"})
    for step in range(3):
        write_site(output, {"index.html": f"{step}".encode(), "about.html": b"ours"})
        assert live_files(output) == {"index.html": f"{step}".encode(), "about.html": b"ours"}


def test_folders_unchanged_since_the_commit_are_not_listed(
        tmp_path: Path, slow_commit: None, monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "public"
    pages = {f"articles/{n}/index.html": str(n).encode() for n in range(30)}
    write_site(output, pages)
    (output / "articles" / "7" / "mine.txt").write_text("mine")
    write_site(output, {**pages, "index.html": b"1"})
    listed: list[str] = []
    list_folder = write._list_folder

    def spy(path: str, folder: str, *rest: object) -> list[str]:
        listed.append(folder)
        return list_folder(path, folder, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(write, "_list_folder", spy)
    write_site(output, {**pages, "index.html": b"2"})
    assert live_files(output)["articles/7/mine.txt"] == b"mine"
    # The root (the manifest was just replaced in it) and nothing of the 30
    # article folders the last build did not touch.
    assert not any(folder.startswith("articles/") for folder in listed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_user_files_over_random_changes(tmp_path: Path, slow_commit: None, seed: int) -> None:
    """The user adds, rewrites and deletes files anywhere between builds: each
    build's site holds exactly the user's files as the user left them, and
    what the writer finds as the user's files is every file the manifest does
    not list."""
    rng = random.Random(seed)
    output = tmp_path / "public"
    folders = ["", "articles/a/", "articles/b/", "tags/t/", "2024/09/"]
    pages = {f"{folder}index.html": folder.encode() for folder in folders}
    write_site(output, pages)
    mine: dict[str, bytes] = {}
    for step in range(12):
        live = output.resolve()
        for _ in range(rng.randint(0, 3)):
            _user_change(live, rng, folders, step, mine)
        assert write._user_files(live, load_manifest(live)) == brute_force_user_files(output)
        current = {**pages, "index.html": f"step {step}".encode()}
        write_site(output, current)
        assert write._user_files(output.resolve(), load_manifest(output.resolve())) == \
            brute_force_user_files(output)
        assert live_files(output) == {**current, **mine}


def _user_change(live: Path, rng: random.Random, folders: list[str], step: int,
                 mine: dict[str, bytes]) -> None:
    kind = rng.choice(["add", "add", "nested", "delete", "rewrite"])
    folder = rng.choice(folders)
    made = {"add": f"{folder}user{step}.txt", "nested": f"{folder}dir{step}/inner/x.txt"}
    if kind in made:
        (live / made[kind]).parent.mkdir(parents=True, exist_ok=True)
        (live / made[kind]).write_bytes(f"mine {step}".encode())
        mine[made[kind]] = f"mine {step}".encode()
    elif mine:
        rel = rng.choice(sorted(mine))
        (live / rel).unlink()  # a rewrite is a new file, as editors save
        if kind == "delete":
            del mine[rel]
        else:
            (live / rel).write_bytes(f"rewritten {step}".encode())
            mine[rel] = f"rewritten {step}".encode()


def test_the_manifest_is_compact_json_of_its_entries(tmp_path: Path) -> None:
    # Any path a file may have: quotes, tabs, line separators, non-BMP characters.
    names = ["index.html", '中文/路径 "quoted"\tü.html', "e\u00e9/\u2028/\U0001f600.html"]
    output = tmp_path / "public"
    write_site(output, {name: name.encode() for name in names},
               keys={names[1]: "k" * 32})
    live = output.resolve()
    manifest = load_manifest(live)
    assert manifest is not None
    expected = {"version": write.MANIFEST_VERSION, "generation": manifest.generation,
                "files": {rel: [e.digest, e.size, e.key] for rel, e in
                          sorted(manifest.files.items())},
                "carried": [], "groups": {}}
    assert (live / MANIFEST).read_text(encoding="utf-8") == \
        json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    stamps = {"generation": manifest.generation,
              "mtimes": {rel: e.mtime_ns for rel, e in sorted(manifest.files.items())}}
    assert write._mtimes_path(live).read_text(encoding="utf-8") == \
        json.dumps(stamps, separators=(",", ":"))
    assert sorted(manifest.files) == sorted(names)


def test_a_later_manifest_written_in_the_same_process_is_still_the_json_of_its_entries(
        tmp_path: Path) -> None:
    # The second save reuses the texts of entries it wrote before (the same
    # objects) and must not reuse them for a path whose entry changed.
    folder = tmp_path / "generation"
    folder.mkdir()
    kept, old = write.Entry("d1", 1, 10, "k1"), write.Entry("d2", 2, 20, "k2")
    write._save_manifest(folder, write.Manifest(1, {"a.html": kept, "b.html": old}, (), {}))
    files = {"a.html": kept, "b.html": write.Entry("d2", 2, 21, "k3"),
             "c.html": write.Entry("d\"3", 3, 30, "")}
    write._save_manifest(folder, write.Manifest(2, files, (), {}))
    expected = {"version": write.MANIFEST_VERSION, "generation": 2,
                "files": {rel: [e.digest, e.size, e.key] for rel, e in sorted(files.items())},
                "carried": [], "groups": {}}
    assert (folder / MANIFEST).read_text(encoding="utf-8") == \
        json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    stamps = {"generation": 2, "mtimes": {rel: e.mtime_ns for rel, e in sorted(files.items())}}
    assert write._mtimes_path(folder).read_text(encoding="utf-8") == \
        json.dumps(stamps, separators=(",", ":"))


def read_from_disk(folder: Path) -> write.Manifest | None:
    """load_manifest with nothing remembered by this process."""
    write._WRITTEN.forget()
    return load_manifest(folder)


def test_a_manifest_this_process_wrote_reads_back_as_written(tmp_path: Path) -> None:
    output = tmp_path / "public"
    write_site(output, {"b/index.html": b"B", "a/index.html": b"A"}, keys={"a/index.html": "k"})
    write_site(output, {"b/index.html": b"B2", "a/index.html": b"A"}, keys={"a/index.html": "k"})
    for folder in (output.resolve(), spare_of(output)):
        remembered = load_manifest(folder)
        spare = write.SpareManifest.load(folder)
        on_disk = read_from_disk(folder)
        assert remembered is not None and on_disk is not None and spare is not None
        assert remembered == on_disk
        assert list(remembered.files) == list(on_disk.files)
        assert {rel: list(e[:2]) for rel, e in spare.files.items()} == \
            {rel: [e.digest, e.size] for rel, e in on_disk.files.items()}
        assert spare.mtimes == {rel: e.mtime_ns for rel, e in on_disk.files.items()}


@pytest.mark.parametrize("which", ["manifest", "mtimes"])
def test_a_manifest_file_changed_after_the_build_is_read_again(
        tmp_path: Path, which: str) -> None:
    # The same size and a restored mtime: only the ctime tells it was changed.
    output = tmp_path / "public"
    write_site(output, {"a/index.html": b"A"})
    live = output.resolve()
    path = live / MANIFEST if which == "manifest" else write._mtimes_path(live)
    text = path.read_text(encoding="utf-8")
    before = os.stat(path)
    assert load_manifest(live) is not None  # remembered
    time.sleep(0.01)
    if which == "manifest":
        digest = json.loads(text)["files"]["a/index.html"][0]
        edited = text.replace(digest, digest[::-1])
    else:
        mtime = str(json.loads(text)["mtimes"]["a/index.html"])
        edited = text.replace(mtime, mtime[:-1] + ("1" if mtime[-1] != "1" else "2"))
    assert edited != text and len(edited) == len(text)
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    found = load_manifest(live)
    assert found is not None
    entry = found.files["a/index.html"]
    if which == "manifest":
        assert entry.digest == json.loads(edited)["files"]["a/index.html"][0]
    else:
        assert entry.mtime_ns == json.loads(edited)["mtimes"]["a/index.html"]
    assert found == read_from_disk(live)

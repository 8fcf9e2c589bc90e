"""Writing the site: only changed bytes, only our own files, switched atomically.

The output path is a symbolic link to one of two generation folders beside
it (`.public.gens/a` and `.public.gens/b`). A build brings the folder that is
*not* live up to date — hard-linking pages whose bytes did not change from
the live folder (so their inode and mtime stay) and writing changed pages
fresh — and then repoints the link in one atomic rename. Readers of the
output therefore see the previous site or the new one, never a mix, and a
build killed at any moment leaves the previous site live; the next build
notices the half-updated spare folder (it has no manifest yet) and redoes it.
The cost is proportional to the pages that changed, not to the site's size.

Each generation holds a manifest of the files the generator wrote (digest,
size, mtime). Files not in it belong to the user and are carried over to
the next generation untouched; files in it that the new build no longer
produces are deleted.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _json_str
from json.encoder import encode_basestring_ascii as _json_ascii
from pathlib import Path
from stat import S_ISDIR
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Sequence

if TYPE_CHECKING:
    from generator.survey import LiveSurvey

MANIFEST = ".timeline-manifest.json"
MANIFEST_VERSION = 4
GENERATIONS = ("a", "b")
# While the survey helper is still making the spare (see mirror_generation),
# changed pages wait in memory, up to this many bytes, instead of the build
# waiting for the helper at its first changed page.
DEFER_BYTES = 32 * 1024 * 1024


class OutputError(Exception):
    pass


class _Keep:
    """Marker: this page did not change since the live build; keep its file."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()
Content = bytes | _Keep


@dataclass(frozen=True)
class WriteResult:
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    deleted: tuple[str, ...]


class Entry(NamedTuple):
    """A file the generator wrote. A named tuple, not a dataclass: a build
    makes one per page from each manifest it loads (≈14,000 at 10,000
    articles), and a frozen dataclass takes four times as long to make."""

    digest: str
    size: int
    mtime_ns: int
    key: str = ""  # what the page was rendered from (see render.page_key)


@dataclass(frozen=True)
class Manifest:
    generation: int
    files: Mapping[str, Entry]  # written by the generator
    carried: tuple[str, ...] = ()  # the user's files copied from the previous generation
    # Render digests of page groups (site path prefix → digest, see
    # render.PageGroup): a group whose digest is unchanged is kept whole.
    groups: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Staging:
    """A spare generation brought up to date, waiting to go live."""

    output: Path
    folder: Path
    manifest: Manifest
    result: WriteResult


def check_output_dir(output: Path, protected: Mapping[str, Path]) -> None:
    """Refuse an output folder that is, or contains, the content or the project."""
    out = output.resolve()
    for what, path in protected.items():
        target = path.resolve()
        if out == target or out in target.parents:
            raise OutputError(f"output folder {output} contains the {what} ({path}); "
                              "choose a separate folder such as public/")


def gens_dir(output: Path) -> Path:
    return output.parent / f".{output.name}.gens"


def live_folder(output: Path) -> Path | None:
    """The generation folder the output link points at (after recovery)."""
    recover(output)
    return output.resolve() if output.exists() else None


def live_manifest(output: Path) -> Manifest | None:
    folder = live_folder(output)
    return load_manifest(folder) if folder else None


def write_site(output: Path, files: Mapping[str, Content],
               extra_dirs: Iterable[str] = (), keys: Mapping[str, str] | None = None
               ) -> WriteResult:
    """Make the output hold exactly `files` (plus the user's own files)."""
    staging = stage(output, files, keys)
    if staging is None:
        return WriteResult((), tuple(sorted(files)), ())
    return commit(staging, extra_dirs)


def stage(output: Path, files: Mapping[str, Content],
          keys: Mapping[str, str] | None = None) -> Staging | None:
    """Bring the spare generation up to date; None when nothing would change.

    `keys` are the pages' render keys, recorded so the next build can tell
    which pages it need not render at all."""
    keys = keys or {}
    writer = SiteWriter(output)
    for rel, data in files.items():
        writer.put(rel, data, keys.get(rel, ""))
    return writer.staged()


class SiteWriter:
    """Receives the new site one file at a time and brings the spare
    generation up to date as they arrive, so a build never holds every page
    in memory. The spare is touched only once a file differs from the live
    site; if none does (and none was removed), nothing is written at all."""

    def __init__(self, output: Path) -> None:
        self.output = output.absolute()
        self.live = live_folder(self.output)
        self.current = load_manifest(self.live) if self.live else None
        self.previous: Mapping[str, Entry] = self.current.files if self.current else {}
        self.entries: dict[str, Entry] = {}
        self.changed: list[str] = []
        self.unchanged: list[str] = []
        self.rekeyed = False
        self.spare: Path | None = None
        self.spare_manifest: SpareManifest | None = None  # the claimed spare's, if it had one
        self._waiting: list[str] = []  # unchanged files seen before the spare was started
        self._deferred: list[tuple[str, bytes]] = []  # changed ones (see DEFER_BYTES)
        self._deferred_bytes = 0
        self.forced = False  # a new generation even if no file changed (see force())
        self.groups: dict[str, str] = {}
        self.previous_groups: Mapping[str, str] = self.current.groups if self.current else {}
        self._survey: LiveSurvey | None = None

    def survey_live(self) -> None:
        """Ask the helper process to check the live generation while this
        build goes on; intact() and staged() read its answer (see survey.py)."""
        from generator.survey import LiveSurvey, start_helper

        start_helper()
        if self.live is not None and self.current is not None and self._survey is None:
            spare = _spare_folder(self.output, self.live)
            # A spare without a manifest is reset and filled by the first build
            # that claims it: the helper does that beforehand (mirror_generation).
            unready = not (spare / MANIFEST).exists()
            self._survey = LiveSurvey.start(self.live, self.current,
                                            spare if unready else None)

    def intact(self, rel: str, entry: Entry) -> bool:
        """The live file that `entry` describes is still the one written."""
        if self._survey is not None and self.previous.get(rel) is entry:
            return rel not in self._survey.findings().altered
        return intact(self.live, rel, entry)

    def close(self) -> None:
        """Take an answer no one asked for off the helper's pipe (a build
        that failed before it needed it)."""
        if self._survey is not None:
            self._survey.close()

    def record_group(self, prefix: str, digest: str) -> None:
        """Remember what the pages under `prefix` were rendered from."""
        self.groups[prefix] = digest
        self.rekeyed = self.rekeyed or self.previous_groups.get(prefix) != digest

    def force(self) -> None:
        """Make staged() produce a generation even if every file is unchanged
        (another tool, the search indexer, has something to add)."""
        self.forced = True

    def warm(self) -> None:
        """Read now what the next build in this process will need when it
        changes something: the live manifest's entry texts (see _EntryTexts)
        and the spare generation's manifest (_start, then remembered)."""
        _ENTRY_TEXTS.warm(self.previous.items())
        if self.live is not None:
            load_manifest(_spare_folder(self.output, self.live))

    def put(self, rel: str, data: Content, key: str = "") -> None:
        """Add one file of the new site (KEEP: the live file is still right)."""
        if rel in self.entries:
            raise OutputError(f"{rel} was produced twice in one build")
        before = self.previous.get(rel)
        if isinstance(data, _Keep):
            if before is None:
                raise OutputError(f"page {rel} was marked unchanged but the live site lacks it")
            self._keep(rel, before, key)  # a path of the live manifest: checked when loaded
            return
        _check_relative(rel)
        digest = _hash(data)
        if before is not None and _same(self.live, rel, digest, before):
            self._keep(rel, before, key)
            return
        self.changed.append(rel)
        if self._defer(rel, data):
            self.entries[rel] = Entry(digest, len(data), -1, key)  # its mtime once written
            return
        self._start()
        self.entries[rel] = self._write(rel, data, digest, key)

    def _defer(self, rel: str, data: bytes) -> bool:
        """Keep a changed page in memory, for _start to write, while the
        helper may still be making the spare (see DEFER_BYTES)."""
        if self.spare is not None or self._survey is None or not self._survey.mirroring \
                or self._deferred_bytes + len(data) > DEFER_BYTES:
            return False
        self._deferred.append((rel, data))
        self._deferred_bytes += len(data)
        return True

    def _write(self, rel: str, data: bytes, digest: str, key: str) -> Entry:
        """Write a changed page into the claimed spare; its manifest entry."""
        assert self.spare is not None
        target = f"{os.fspath(self.spare)}/{rel}"
        if self.spare_manifest is None:
            written = _write_new(target, data)  # a freshly reset spare: nothing there is shared
        else:
            written = _replace_with_bytes(target, data)
        return Entry(digest, written.st_size, written.st_mtime_ns, key)

    def direct(self) -> DirectWriter:
        """Claim the spare now, so that worker processes can write pages into
        it themselves (see DirectWriter) instead of sending their bytes here."""
        self._start()
        assert self.spare is not None
        return DirectWriter(self.live, self.spare, self.spare_manifest is None, self.previous)

    def put_written(self, rel: str, entry: Entry | None, key: str) -> None:
        """Record a page a DirectWriter handled: written into the spare
        (`entry`), or found equal to the live file (None: keep that one)."""
        _check_relative(rel)
        if rel in self.entries:
            raise OutputError(f"{rel} was produced twice in one build")
        if entry is None:
            self._keep(rel, self.previous[rel], key)
            return
        self.entries[rel] = entry
        self.changed.append(rel)

    def _keep(self, rel: str, before: Entry, key: str) -> None:
        if before.key == key:  # nearly always: the entry itself (an immutable tuple)
            self.entries[rel] = before
        else:
            self.entries[rel] = Entry(before.digest, before.size, before.mtime_ns, key)
            self.rekeyed = True
        self.unchanged.append(rel)
        if self.spare is None:
            self._waiting.append(rel)
        else:
            assert self.live is not None
            self._carry(os.fspath(self.live), os.fspath(self.spare), rel, before)

    def _carry(self, live: str, spare: str, rel: str, entry: Entry) -> None:
        """Make the claimed spare's `rel` the live file `entry` describes.

        A spare that still had its manifest holds exactly what it lists (the
        manifest is removed before a build changes anything in it, see
        _start). An entry equal to the live one there, mtime included, is the
        file the live generation kept from it (a hard link to the same
        inode): nothing to do, and no stat calls for the ≈14,000 pages an
        incremental build keeps. A rewritten file has another mtime; an
        unrecorded mtime (-1) proves nothing, so _share checks.

        A freshly reset spare holds nothing, so the link goes straight in:
        the first incremental build after a cold one links every page, and
        _share's checks and temporary name would cost four more system calls
        a file than the page's folder and the link themselves."""
        if self.spare_manifest is None:
            _link_new(f"{live}/{rel}", f"{spare}/{rel}")
        elif not self.spare_manifest.holds(rel, entry):
            _share(f"{live}/{rel}", f"{spare}/{rel}")

    def _start(self) -> None:
        """Claim the spare generation: invalidate it, or reset it if it was
        not complete, and catch up on the unchanged files seen so far."""
        if self.spare is not None:
            return
        spare = _spare_folder(self.output, self.live)
        if self._survey is not None and self._survey.mirrored() and self.current is not None:
            self.spare_manifest = SpareManifest.mirror_of(self.current)  # as the helper left it
        else:
            self.spare_manifest = SpareManifest.load(spare)
        _invalidate(spare)
        if self.spare_manifest is None:
            _reset(spare)
        self.spare = spare
        assert self.live is not None or not self._waiting
        live, target = os.fspath(self.live or ""), os.fspath(spare)
        for rel in self._waiting:
            self._carry(live, target, rel, self.entries[rel])
        self._waiting = []
        for rel, data in self._deferred:
            entry = self.entries[rel]
            self.entries[rel] = self._write(rel, data, entry.digest, entry.key)
        self._deferred, self._deferred_bytes = [], 0

    def staged(self) -> Staging | None:
        """Finish the spare (deletions, the user's files); None if the live
        site already is the new site."""
        deleted = sorted(set(self.previous) - set(self.entries))
        if set(self.previous_groups) - set(self.groups):
            self.rekeyed = True  # a group is gone: the manifest must forget it
        if (self.current is not None and not self.changed and not deleted and not self.rekeyed
                and not self.forced):
            return None
        self._start()
        assert self.spare is not None
        old = self.spare_manifest.files if self.spare_manifest else {}
        for rel in sorted(set(old) - set(self.entries)):
            if _is_safe_relative(rel):
                _remove(self.spare, rel)
        found = self._survey.findings().user_files if self._survey is not None else None
        carried = _carry_user_files(self.spare, self.spare_manifest, self.live, self.current,
                                    set(self.entries), found)
        generation = (self.current.generation if self.current else 0) + 1
        manifest = Manifest(generation, dict(self.entries), carried, dict(sorted(self.groups.items())))
        result = WriteResult(tuple(sorted(self.changed)), tuple(sorted(self.unchanged)),
                             tuple(deleted))
        return Staging(self.output, self.spare, manifest, result)

    def finish(self, extra_dirs: Iterable[str] = ()) -> WriteResult:
        """Stage and commit: the new site goes live (or nothing happens)."""
        staging = self.staged()
        if staging is None:
            return WriteResult((), tuple(sorted(self.unchanged)), ())
        return commit(staging, extra_dirs)


@dataclass(frozen=True)
class DirectWriter:
    """SiteWriter.put's work on one page, done where the page was rendered:
    a render worker hashes its page and writes it into the claimed spare, so
    the pages' bytes never travel back to the main process."""

    live: Path | None
    spare: Path
    fresh: bool  # the spare was reset: nothing in it is shared with the live site
    previous: Mapping[str, Entry]

    def write(self, rel: str, data: bytes, key: str) -> Entry | None:
        """The page's manifest entry, or None if the live file already holds
        exactly these bytes (then the main process links it)."""
        _check_relative(rel)
        digest = _hash(data)
        before = self.previous.get(rel)
        if before is not None and _same(self.live, rel, digest, before):
            return None
        target = f"{os.fspath(self.spare)}/{rel}"
        written = _write_new(target, data) if self.fresh else _replace_with_bytes(target, data)
        return Entry(digest, written.st_size, written.st_mtime_ns, key)


def commit(staging: Staging, extra_dirs: Iterable[str] = ()) -> WriteResult:
    """Record the spare generation's manifest and make it live atomically.

    `extra_dirs` are folders another tool wrote into the spare generation
    (the search index); their files are recorded as the generator's own."""
    files = dict(staging.manifest.files)
    written = list(staging.result.written)
    for folder in extra_dirs:
        for path in _walk(staging.folder / folder):
            rel = path.relative_to(staging.folder).as_posix()
            files[rel] = _entry(path, _digest(path))
            written.append(rel)
    manifest = Manifest(staging.manifest.generation, files, staging.manifest.carried,
                        staging.manifest.groups)
    _save_manifest(staging.folder, manifest)
    _point(staging.output, staging.folder)
    return WriteResult(tuple(sorted(set(written))), staging.result.unchanged,
                       staging.result.deleted)


def recover(output: Path) -> None:
    """After a killed build: make sure the output link exists and points at a
    complete generation (one with a manifest), the newest if there are two."""
    if output.is_symlink() and output.exists():
        return
    if output.exists() and not output.is_symlink():
        _adopt_real_folder(output)
        return
    complete = [(m.generation, folder) for folder in _generation_folders(output)
                if (m := load_manifest(folder)) is not None]
    if complete:
        _point(output, max(complete)[1])


def load_manifest(folder: Path | None) -> Manifest | None:
    """The generation's manifest; None if missing or unreadable (an incomplete
    generation, or a folder the generator did not write)."""
    if folder is None:
        return None
    remembered = _WRITTEN.recall(folder)
    if remembered is not None:
        return remembered
    stamp = _stamp(folder)
    manifest = _read_manifest(folder)
    if manifest is not None and stamp is not None and _stamp(folder) == stamp:
        # Unchanged while read: the next build in this process (the watch
        # server's first change) need not read it again.
        _WRITTEN.remember(folder, manifest, stamp)
    return manifest


def _read_manifest(folder: Path) -> Manifest | None:
    try:
        raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if raw.get("version") not in (3, MANIFEST_VERSION):  # 3: the same, without groups
            return None
        mtimes = _load_mtimes(folder, int(raw["generation"]))
        files = {rel: Entry(digest, size, mtimes.get(rel, -1), key)
                 for rel, (digest, size, key) in raw["files"].items()
                 if _is_safe_relative(rel)}
        carried = tuple(r for r in raw.get("carried", []) if _is_safe_relative(r))
        groups = {str(k): str(v) for k, v in raw.get("groups", {}).items()}
        return Manifest(int(raw["generation"]), files, carried, groups)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


@dataclass(frozen=True)
class SpareManifest:
    """The claimed spare generation's manifest, as far as a build needs it:
    which files it holds (to delete those no longer produced, and to tell
    which kept pages it already shares with the live generation) and the
    user's files it carried. Read without an Entry per file or a check of
    every path (load_manifest's ≈70 % at 14,000 files): its entries are only
    compared, and the paths acted on are checked then."""

    # rel → [digest, size, key] as in the manifest, or the Entry written
    files: Mapping[str, Sequence[Any]]
    mtimes: Mapping[str, int]
    carried: tuple[str, ...]

    @classmethod
    def load(cls, folder: Path) -> SpareManifest | None:
        """None, like load_manifest, if the folder has no readable manifest."""
        remembered = _WRITTEN.recall(folder)
        if remembered is not None:
            return cls(remembered.files, {rel: e.mtime_ns for rel, e in remembered.files.items()},
                       remembered.carried)
        try:
            raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            if raw.get("version") not in (3, MANIFEST_VERSION):
                return None
            files = raw["files"]
            if not isinstance(files, dict) or not all(
                    type(value) is list and len(value) == 3 for value in files.values()):
                return None
            carried = tuple(r for r in raw.get("carried", []) if _is_safe_relative(r))
            return cls(files, _load_mtimes(folder, int(raw["generation"])), carried)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    @classmethod
    def mirror_of(cls, live: Manifest) -> SpareManifest:
        """The manifest mirror_generation gave the spare it made of `live`."""
        return cls({rel: (e.digest, e.size, e.key) for rel, e in live.files.items()},
                   {rel: e.mtime_ns for rel, e in live.files.items()}, ())

    def holds(self, rel: str, entry: Entry) -> bool:
        """This generation's file `rel` is the one `entry` describes (see
        SiteWriter._carry)."""
        old = self.files.get(rel)
        return (old is not None and entry.mtime_ns != -1
                and self.mtimes.get(rel, -1) == entry.mtime_ns
                and old[0] == entry.digest and old[1] == entry.size)


# -- generation folders ------------------------------------------------------
def _generation_folders(output: Path) -> list[Path]:
    return [gens_dir(output) / name for name in GENERATIONS if (gens_dir(output) / name).is_dir()]


def _spare_folder(output: Path, live: Path | None) -> Path:
    for name in GENERATIONS:
        folder = gens_dir(output) / name
        if live is None or folder.resolve() != live:
            return folder
    raise OutputError(f"cannot find a spare generation folder for {output}")


def _adopt_real_folder(output: Path) -> None:
    """An output that is a plain folder (first build, or made by hand) becomes
    generation 'a'; everything in it is kept as the user's files."""
    target = gens_dir(output) / "a"
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(output, target)
    _point(output, target)


def _point(output: Path, folder: Path) -> None:
    """Atomically make `output` a symlink to `folder` (relative, so the pair can move)."""
    link = output.parent / f".{output.name}.link-tmp"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(os.path.relpath(folder, output.parent), link)
    os.replace(link, output)
    _fsync_dir(output.parent)


def _invalidate(folder: Path) -> None:
    """Remove the spare's manifest first: if we are killed while it is being
    changed, the next build knows not to trust it."""
    (folder / MANIFEST).unlink(missing_ok=True)
    _fsync_dir(folder) if folder.exists() else None


def _reset(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def mirror_generation(live: Path, manifest: Manifest, spare: Path) -> None:
    """Make `spare` a complete generation equal to the live one: every page of
    `manifest` hard-linked, and a manifest of its own (the same files and
    generation; no user files, which the build that claims it carries).

    The spare has no manifest after a cold build (the only one there is went
    live), so the first incremental build after it would make all ≈14,000
    page folders and links of a 10,000-article site itself: ≈1–5 s of
    system time on this project's machine, while Python does nothing. The
    survey helper does this instead, on the other core, while the build
    parses and links (see survey.py); SiteWriter._start waits for it."""
    _reset(spare)
    live_name, spare_name = os.fspath(live), os.fspath(spare)
    for rel in manifest.files:
        _check_relative(rel)
        _link_new(f"{live_name}/{rel}", f"{spare_name}/{rel}")
    _save_manifest(spare, Manifest(manifest.generation, dict(manifest.files), (),
                                   manifest.groups))


# -- bringing the spare up to date ------------------------------------------
def _carry_user_files(spare: Path, spare_manifest: SpareManifest | None, live: Path | None,
                      current: Manifest | None, ours: set[str],
                      found: Sequence[str] | None = None) -> tuple[str, ...]:
    """Copy the user's own files from the live generation (as hard links), and
    remove from the spare those the user has deleted since.

    The spare may hold user files of two kinds: those carried into it when it
    was committed (its manifest's `carried`), and those the user made in it
    while it was live, which the build after found and carried on (the live
    manifest's `carried`). Either kind that is no longer in the live site was
    deleted by the user and must not come back when the spare goes live. A
    path the generator now writes itself (`ours`) is the generator's.
    `found`: the live generation's user files, if already listed (see
    survey.py)."""
    if live is None:
        return ()
    if found is None:
        found = _user_files(live, current)
    user = [rel for rel in found if rel not in ours]
    were = set(spare_manifest.carried if spare_manifest else ()) | \
        set(current.carried if current else ())
    for rel in sorted(were - set(user) - ours):
        _remove(spare, rel)
    for rel in user:
        _share(live / rel, spare / rel)
    return tuple(sorted(user))


def _user_files(live: Path, manifest: Manifest | None) -> list[str]:
    """The files in the live generation that its manifest does not list.

    They may be anywhere, but listing all ≈14,000 folders of a 10,000-article
    site costs more than anything else the writer does in an incremental
    build. A folder is listed only if it may have changed since the live
    generation was committed: any entry made, removed or renamed in a folder
    (and a folder's own move) sets the folder's ctime to the file system's
    clock, which nothing can set back, and the manifest was the last file
    written into the generation. A folder whose ctime is older than the
    manifest's therefore holds what it held at the commit: the generator's
    files and the user's files carried then. (Like make and git, this trusts
    the clock not to be stepped back between two builds.)"""
    committed = _committed_at(live) if manifest is not None else None
    if manifest is None or committed is None:
        known = manifest.files if manifest is not None else {}
        return [rel for rel in _relative_files(live) if rel != MANIFEST and rel not in known]
    children = _FOLDER_TREES.of(manifest)
    carried: dict[str, list[str]] = {}
    for rel in manifest.carried:
        carried.setdefault(rel.rpartition("/")[0], []).append(rel)
    found: list[str] = []
    base = os.fspath(live)
    stack = [""]  # folders known to be real folders (not links) at their path
    while stack:
        folder = stack.pop()
        path = f"{base}/{folder}" if folder else base
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not S_ISDIR(info.st_mode):
            continue
        if info.st_ctime_ns < committed:
            # Unchanged since the commit: its known subfolders are still there.
            found.extend(carried.get(folder, ()))
            stack.extend(children.get(folder, ()))
        else:
            found.extend(_list_folder(path, folder, manifest.files, children, stack))
    return sorted(found)


def _committed_at(live: Path) -> int | None:
    """When the live generation's manifest was written (by the file system's
    clock, the one folder ctimes are set from); None without a manifest."""
    try:
        info = os.stat(f"{os.fspath(live)}/{MANIFEST}")
    except OSError:
        return None
    # A manifest touched by hand can only make this earlier (more folders listed).
    return min(info.st_mtime_ns, info.st_ctime_ns)


def _folder_tree(paths: Iterable[str]) -> dict[str, list[str]]:
    """Each folder of these file paths ("" is the root) → its subfolders."""
    children: dict[str, list[str]] = {"": []}
    links: list[tuple[str, str]] = []
    for rel in paths:
        folder = rel.rpartition("/")[0]
        while folder not in children:
            children[folder] = []
            parent = folder.rpartition("/")[0]
            links.append((parent, folder))
            folder = parent
    for parent, folder in links:
        children[parent].append(folder)
    return children


class _FolderTrees:
    """The last _folder_tree made in this process, with the paths it was made
    from: the watch server's next build lists the user's files of a live
    site with the same folders (≈20 ms a rebuild to make at 14,000 files;
    comparing the paths costs ≈1 ms)."""

    def __init__(self) -> None:
        self._files: frozenset[str] = frozenset()
        self._carried: tuple[str, ...] = ()
        self._tree: dict[str, list[str]] | None = None

    def of(self, manifest: Manifest) -> dict[str, list[str]]:
        """Each folder of the manifest's files and carried files → its
        subfolders (shared: callers only read it)."""
        if self._tree is None or manifest.carried != self._carried \
                or manifest.files.keys() != self._files:
            self._tree = _folder_tree(itertools.chain(manifest.files, manifest.carried))
            self._files, self._carried = frozenset(manifest.files), manifest.carried
        return self._tree

    def forget(self) -> None:
        self._tree = None


_FOLDER_TREES = _FolderTrees()


def _list_folder(path: str, folder: str, ours: Mapping[str, Entry],
                 children: Mapping[str, list[str]], stack: list[str]) -> list[str]:
    """The user's files in one live folder that may have changed (and in any
    folder below it the generator never wrote into); its known subfolders
    that are still folders go on `stack`."""
    prefix = f"{folder}/" if folder else ""
    found: list[str] = []
    with os.scandir(path) as entries:
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if rel in children:
                    stack.append(rel)
                else:
                    found.extend(f"{rel}/{inner}" for inner in _relative_files(entry.path))
            elif not entry.name.endswith(".timeline-tmp") and rel not in ours \
                    and rel != MANIFEST:
                found.append(rel)
    return found


def _remove(root: Path, rel: str) -> None:
    """Delete a file and the folders it leaves empty (up to, not including, root)."""
    path = root / rel
    path.unlink(missing_ok=True)
    parent = path.parent
    while parent != root:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


def _share(source: str | Path, target: str | Path) -> None:
    """Make `target` the same file as `source` (a hard link) unless it already is.

    Runs for every unchanged page of an incremental build, so it works on
    strings and the common case costs two stat calls."""
    source_name, target_name = os.fspath(source), os.fspath(target)
    try:
        first, second = os.stat(source_name), os.stat(target_name)
        if (first.st_ino, first.st_dev) == (second.st_ino, second.st_dev):
            return
    except OSError:
        pass
    os.makedirs(os.path.dirname(target_name), exist_ok=True)
    temp = target_name + ".timeline-tmp"
    try:
        os.unlink(temp)
    except FileNotFoundError:
        pass
    try:
        os.link(source_name, temp)
    except OSError:
        shutil.copy2(source_name, temp)  # file systems without hard links
    os.replace(temp, target_name)


# The page writers below take string paths and call the os module directly:
# a cold build writes every page (≈14,000 at 10,000 articles), and pathlib's
# objects, its mkdir and a stat by name after writing cost ≈40 µs a page more.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


def _link_new(source: str, target: str) -> None:
    """Make `target`, which does not exist yet, a hard link to `source`."""
    _make_parent(target)
    try:
        os.link(source, target)
    except FileExistsError:
        _share(source, target)  # there after all: never copy through it (a link into live)
    except OSError:
        shutil.copy2(source, target)  # file systems without hard links


def _write_new(target: str, data: bytes) -> os.stat_result:
    """Write `data` to the file `target` (its folder made if missing); its stat."""
    _make_parent(target)
    return _write_file(target, data)


def _replace_with_bytes(target: str, data: bytes) -> os.stat_result:
    # Never write through an existing file: it may be a hard link into the live site.
    _make_parent(target)
    temp = target + ".timeline-tmp"
    written = _write_file(temp, data)
    os.replace(temp, target)  # the same inode, so `written` describes the target
    return written


def _make_parent(target: str) -> None:
    folder = os.path.dirname(target)
    try:
        os.mkdir(folder)  # most pages have a folder of their own
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)


def _write_file(path: str, data: bytes) -> os.stat_result:
    handle = os.open(path, _CREATE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view):]
        return os.fstat(handle)
    finally:
        os.close(handle)


def intact(live: Path | None, rel: str, entry: Entry) -> bool:
    """The live file is still the one the manifest describes."""
    return _same(live, rel, entry.digest, entry)


def _same(live: Path | None, rel: str, digest: str, entry: Entry | None) -> bool:
    if live is None or entry is None or entry.digest != digest:
        return False
    try:
        stat = os.stat(f"{os.fspath(live)}/{rel}")  # strings: this runs for every page
    except OSError:
        return False
    # Size and mtime catch a hand-edited output file without reading it
    # (mtime -1: not recorded, size alone must do).
    return stat.st_size == entry.size and entry.mtime_ns in (-1, stat.st_mtime_ns)


def _entry(path: Path, digest: str, key: str = "") -> Entry:
    stat = path.stat()
    return Entry(digest, stat.st_size, stat.st_mtime_ns, key)


def _hash(data: bytes) -> str:
    # SHA-1 only detects changes in files the generator wrote itself; it is
    # twice as fast as SHA-256 here, and nothing relies on collision resistance.
    return hashlib.sha1(data).hexdigest()


def _digest(path: Path) -> str:
    return _hash(path.read_bytes())


def _mtimes_path(folder: Path) -> Path:
    return folder.parent / f"{folder.name}.mtimes.json"


def _load_mtimes(folder: Path, generation: int) -> dict[str, int]:
    """The mtimes recorded beside a generation (not inside it: they are the
    build's clock, and nothing published may carry it); empty if missing."""
    try:
        raw = json.loads(_mtimes_path(folder).read_text(encoding="utf-8"))
        if raw.get("generation") != generation:
            return {}
        return {str(rel): int(value) for rel, value in raw["mtimes"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _save_manifest(folder: Path, manifest: Manifest) -> None:
    """The manifest goes inside the generation (digests, sizes and render keys:
    the same for the same site); the mtimes, which let a later build spot a
    hand-edited file without reading it, go beside it."""
    entries = sorted(manifest.files.items())
    files_json, mtimes_json = _ENTRY_TEXTS.texts(entries)
    stamps = {"generation": manifest.generation, "mtimes": _FILES_MARK}
    stamp_file = _mtimes_path(folder)
    stamp_file.with_name(stamp_file.name + ".tmp").write_text(
        _with_files(json.dumps(stamps, separators=(",", ":")), mtimes_json),
        encoding="utf-8")
    os.replace(stamp_file.with_name(stamp_file.name + ".tmp"), stamp_file)
    body = {"version": MANIFEST_VERSION, "generation": manifest.generation,
            "files": _FILES_MARK, "carried": list(manifest.carried),
            "groups": dict(manifest.groups)}
    temp = folder / (MANIFEST + ".tmp")
    temp.write_text(_with_files(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                                files_json), encoding="utf-8")
    os.replace(temp, folder / MANIFEST)
    _fsync_dir(folder)
    _WRITTEN.remember(folder, Manifest(manifest.generation, dict(entries), manifest.carried,
                                       manifest.groups))


class _WrittenManifests:
    """The manifests this process wrote (as it wrote them) or read, for its
    next build.

    The watch server builds again and again in one process, and each build
    would read back the two manifests the builds before it wrote (≈65 ms of
    a one-article rebuild at 10,000 articles, decoding 14,000 entries twice).
    A remembered manifest is used only while both of its files are the very
    files written: same inode, size, mtime and ctime. Any later change to
    either (a hand edit, a copy, another process's build, a restored mtime)
    moves the ctime, which nothing can set back, so it is read from disk."""

    def __init__(self) -> None:
        self._by_folder: dict[str, tuple[tuple[int, ...], Manifest]] = {}

    def remember(self, folder: Path, manifest: Manifest,
                 stamp: tuple[int, ...] | None = None) -> None:
        """Remember `manifest` as the one in `folder` now (or when `folder`'s
        files had `stamp`)."""
        stamp = stamp or _stamp(folder)
        if stamp is None:
            return
        name = os.path.realpath(folder)
        self._by_folder.pop(name, None)
        self._by_folder[name] = (stamp, manifest)
        while len(self._by_folder) > len(GENERATIONS):  # one output's generations
            del self._by_folder[next(iter(self._by_folder))]

    def recall(self, folder: Path) -> Manifest | None:
        name = os.path.realpath(folder)
        found = self._by_folder.get(name)
        if found is None:
            return None
        if _stamp(folder) != found[0]:
            del self._by_folder[name]
            return None
        return found[1]

    def forget(self) -> None:
        self._by_folder.clear()


def _stamp(folder: Path) -> tuple[int, ...] | None:
    """What identifies the manifest and mtimes files now in `folder`."""
    try:
        files = [os.stat(folder / MANIFEST), os.stat(_mtimes_path(folder))]
    except OSError:
        return None
    return tuple(value for info in files for value in (
        info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))


_WRITTEN = _WrittenManifests()


# The two big objects of the manifest and its mtimes, {path: …} for every
# file, are written by the functions below rather than by json.dumps: the
# same text (json's own string encoder for every string, ints as ints, no
# spaces), in a third less time, ≈25 ms a build at 14,000 files.
_FILES_MARK = "\x00files\x00"


def _with_files(text: str, files: str) -> str:
    """json.dumps' text with the placeholder string replaced by `files`."""
    mark = json.dumps(_FILES_MARK)
    assert text.count(mark) == 1
    return text.replace(mark, files)


def _file_json(rel: str, e: Entry) -> str:
    return f"{_json_str(rel)}:[{_json_str(e.digest)},{int(e.size)},{_json_str(e.key)}]"


def _mtime_json(rel: str, e: Entry) -> str:
    # ASCII escapes, as json.dumps' default (ensure_ascii) writes this file.
    return f"{_json_ascii(rel)}:{int(e.mtime_ns)}"


class _EntryTexts:
    """Each entry's text in the two files, as this process last wrote it.

    A rebuild in the watch server keeps nearly every page, and a kept page's
    entry is the very Entry object of the manifest written before (recalled
    by _WrittenManifests), so its text is taken from here instead of being
    made again: ≈45 ms of a one-article rebuild at 14,000 files. An entry is
    an immutable tuple, so the same object always has the same text."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[Entry, str, str]] = {}

    def texts(self, entries: list[tuple[str, Entry]]) -> tuple[str, str]:
        """The manifest's files object and the mtimes object, as JSON."""
        last = self._last
        if last:
            kept = {}
            for rel, entry in entries:
                found = last.get(rel)
                if found is None or found[0] is not entry:
                    found = (entry, _file_json(rel, entry), _mtime_json(rel, entry))
                kept[rel] = found
            self._last = kept
            files, mtimes = [found[1] for found in kept.values()], \
                [found[2] for found in kept.values()]
        else:  # a fresh process's first save: the quickest way to make them all
            files = [_file_json(rel, entry) for rel, entry in entries]
            mtimes = [_mtime_json(rel, entry) for rel, entry in entries]
            self._last = dict(zip([rel for rel, _ in entries],
                                  zip([entry for _, entry in entries], files, mtimes)))
        return "{" + ",".join(files) + "}", "{" + ",".join(mtimes) + "}"

    def warm(self, entries: Iterable[tuple[str, Entry]]) -> None:
        """Make the texts of `entries` when nothing is kept yet."""
        if not self._last:
            self.texts(list(entries))

    def forget(self) -> None:
        self._last = {}


_ENTRY_TEXTS = _EntryTexts()


def _relative_files(root: str | Path) -> list[str]:
    """Every file under `root` as a POSIX path relative to it (strings only:
    this walks the whole live site on every build that changes something)."""
    found: list[str] = []
    base = os.fspath(root)
    stack = [("", base)]
    while stack:
        prefix, folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append((rel + "/", entry.path))
                elif not entry.name.endswith(".timeline-tmp"):
                    found.append(rel)
    return sorted(found)


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        found.extend(Path(folder) / name for name in sorted(names)
                     if not name.endswith(".timeline-tmp"))
    return found


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_safe_relative(rel: str) -> bool:
    # Plain string tests (this runs for every entry of every manifest loaded):
    # no absolute path, no ".." component, no backslash or NUL, not the manifest.
    return bool(rel) and not rel.startswith("/") and ".." not in rel.split("/") \
        and "\\" not in rel and "\x00" not in rel and rel != MANIFEST


def _check_relative(rel: str) -> None:
    if not _is_safe_relative(rel):
        raise OutputError(f"refusing to write outside the output folder: {rel!r}")

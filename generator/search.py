"""Full-text search: a Pagefind index of the article bodies, built with the site.

Only articles are indexed, and of them only the body; the title, date and
outlet are metadata shown with each result, and the outlet and tags are
filters. Pagefind's extended build (the `pagefind[extended]` package)
segments Chinese text into words.

Pagefind is the longest step of a full build (≈70 s of one core at 10,000
articles, against ≈25 s for the whole site on two), so it does not wait for
the pages: each article also gets a small *stub* page (title, metadata,
filters and body, exactly what the article page marks for Pagefind), written
when the article is parsed and kept beside the output by content. As soon as
the build knows which articles are published, Pagefind starts over trees of
links to their stubs and runs while the site is linked and rendered; the
indexes are moved into the spare generation before it goes live, so a reader
never sees new pages with an old index or the other way round:

    parse (stubs) → collect → start Pagefind ─┐
                    link → render → stage ────┴→ indexes into the stage → commit

**Shards.** One Pagefind process uses little more than one core, so a big
site is indexed as K shards, one process each, at most os.cpu_count() at
once (ShardRunner), and the browser merges them (static/search.js calls
Pagefind's `mergeIndex`; results and filter counts are summed over shards):

- K = clamp(N // SHARD_ARTICLES, 1, MAX_SHARDS) for N published articles:
  a function of the site, never of the machine, so output is reproducible.
  A site under 8,000 articles has one index, as before sharding.
- An article's shard is sha256(slug) mod K, so adding or editing an article
  changes one shard's articles (while K stays).
- Layout: shard 0 in `pagefind/` (where the single index always was), shard
  k in `pagefind-k/`. `pagefind/shards.json` lists every shard's folder
  relative to the site's base (`{"indexes": ["pagefind/", "pagefind-1/"]}`);
  search.js reads it. It changes with shard 0 only, because K is part of
  every shard's digest.

Each shard is a group of the manifest ("pagefind/", "pagefind-1/", …) whose
digest covers K, the shard's number and its articles' stubs; a shard whose
digest is the live one and whose live files are intact is kept, and
Pagefind runs only for the others (Pagefind cannot update an index in place,
so a changed article re-indexes its whole shard; see `index_folder` for why
the CLI). A shard folder the build no longer has (K shrank) is deleted like
any other file no longer produced.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import subprocess
import threading
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from generator import __version__
from generator.write import KEEP, OutputError, SiteWriter, WriteResult, commit

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from generator.models import Article
    from generator.write import Entry

INDEX_DIR = "pagefind"  # shard 0; shard k ≥ 1 is in INDEX_DIR-k (see shard_folder)
SHARDS_FILE = "shards.json"  # in shard 0's folder: every shard's folder, for search.js
SHARD_ARTICLES = 4000  # published articles per shard: K = N // SHARD_ARTICLES, 1 to MAX_SHARDS
MAX_SHARDS = 8
ARTICLE_GLOB = "articles/**/*.html"
STUB_FORMAT = "1"  # bump when stub_html changes

Progress = Callable[[str, int, int], None]


class SearchIndexError(OutputError):
    """The index could not be built; the live site is left as it was."""


def work_dir(output: Path) -> Path:
    """Stubs, the tree Pagefind reads and the index it writes: beside the
    output (the index is moved into a generation, so same file system)."""
    output = output.absolute()
    return output.parent / f".{output.name}.search"


# -- stubs ---------------------------------------------------------------------
def stub_html(article: Article, body: str, language: str, zone: ZoneInfo,
              tag_names: Sequence[str]) -> str:
    """What Pagefind reads of an article page (templates/article.html marks the
    same things): the title, date and outlet as metadata, the outlet and tags
    as filters, the date for sorting, and the body."""
    when = article.published.astimezone(zone)
    day = f"{when.year}年{when.month}月{when.day}日"
    esc = html.escape
    tags = "".join(f'<span data-pagefind-filter="tag">{esc(name)}</span>' for name in tag_names)
    return (f'<!doctype html><html lang="{esc(language)}"><head><meta charset="utf-8">'
            f"<title>{esc(article.title)}</title></head><body>"
            f'<h1 data-pagefind-meta="title">{esc(article.title)}</h1>'
            f'<p data-pagefind-meta="date:{esc(day)}" '
            f'data-pagefind-sort="date:{when.isoformat()}"></p>'
            f'<p data-pagefind-meta="outlet" data-pagefind-filter="outlet">'
            f"{esc(article.outlet.name)}</p>{tags}"
            f"<div data-pagefind-body>\n{body}\n</div></body></html>")


@dataclass(frozen=True)
class StubStore:
    """Stub pages by content, beside the output (so they survive between
    builds of that output, with or without the parse cache)."""

    folder: Path
    settings_key: str  # the parse settings (time zone, taxonomy: tag names)
    language: str
    zone: ZoneInfo
    tag_names: Mapping[str, str]

    @classmethod
    def for_output(cls, output: Path, settings_key: str, language: str, zone: ZoneInfo,
                   tag_names: Mapping[str, str]) -> StubStore:
        return cls(work_dir(output) / "stubs", settings_key, language, zone, tag_names)

    def name(self, article: Article) -> str:
        key = f"{STUB_FORMAT}\0{__version__}\0{self.settings_key}\0{self.language}\0" \
              f"{article.digest}"
        return hashlib.sha1(key.encode()).hexdigest() + ".html"

    def path(self, article: Article) -> Path:
        return self.folder / self.name(article)

    def write(self, article: Article, body: str) -> None:
        names = [self.tag_names.get(t, t) for t in article.tags]
        target = self.path(article)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(target.name + ".tmp")
        temp.write_text(stub_html(article, body, self.language, self.zone, names),
                        encoding="utf-8")
        os.replace(temp, target)

    def prune(self, keep: Iterable[str]) -> None:
        """Forget the stubs of articles no longer published."""
        wanted = set(keep)
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        for name in names:
            if name not in wanted:
                (self.folder / name).unlink(missing_ok=True)


# -- shards ----------------------------------------------------------------------------
def shard_count(published: int) -> int:
    """How many indexes the site gets: a function of the site alone, never of
    the machine, so the same articles always give the same output."""
    return max(1, min(MAX_SHARDS, published // SHARD_ARTICLES))


def shard_of(slug: str, count: int) -> int:
    """An article's shard: fixed by its slug, so an added or edited article
    changes one shard's set of articles (as long as the count stays)."""
    return int.from_bytes(hashlib.sha256(slug.encode()).digest()[:8], "big") % count


def shard_folder(index: int) -> str:
    """Where a shard's index lives in the site: shard 0 where a single index
    always was, the others beside it."""
    return INDEX_DIR if index == 0 else f"{INDEX_DIR}-{index}"


def shard_list(count: int) -> bytes:
    """SHARDS_FILE: the folders of every shard, relative to the site's base,
    for static/search.js to merge."""
    folders = [shard_folder(i) + "/" for i in range(count)]
    return (json.dumps({"indexes": folders}, separators=(",", ":")) + "\n").encode()


@dataclass(frozen=True)
class Shard:
    index: int
    digest: str  # of the shard layout and its articles' stubs (its manifest group)
    articles: tuple[Article, ...]
    live: tuple[tuple[str, Entry], ...] = ()  # the live index's files, when they are kept

    @property
    def folder(self) -> str:
        return shard_folder(self.index)

    @property
    def group(self) -> str:
        return self.folder + "/"


def _partition(published: Sequence[Article]) -> list[list[Article]]:
    """The articles of each shard. Pagefind refuses an empty folder, so the
    count drops while a shard would be empty: only with a tiny shard size (as
    in tests), never at thousands of articles per shard."""
    count = shard_count(len(published))
    while True:
        members: list[list[Article]] = [[] for _ in range(count)]
        for article in published:
            members[shard_of(article.slug, count)].append(article)
        if count == 1 or all(members):
            return members
        count -= 1


def _shards(published: Sequence[Article], stubs: StubStore) -> list[Shard]:
    members = _partition(published)
    count = len(members)
    shards = []
    for index, articles in enumerate(members):
        names = [(a.slug, stubs.name(a)) for a in articles]
        # The count is in every digest: a new count moves articles between all
        # shards and changes SHARDS_FILE, so every shard is rebuilt.
        key = repr((STUB_FORMAT, count, index, names))
        shards.append(Shard(index, hashlib.sha256(key.encode()).hexdigest()[:32],
                            tuple(articles)))
    return shards


# -- the index, built while the site renders ---------------------------------------
@dataclass
class ShardRun:
    """One shard's Pagefind run: the tree of links it reads, the index it
    writes, and its log (a file, not a pipe: nobody reads a pipe while the site
    renders, and a render worker forked meanwhile would inherit its write end)."""

    shard: int
    tree: Path
    target: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    failure: str = ""  # why it could not be started


class ShardRunner:
    """Pagefind over the changed shards, at most `slots` processes at once.

    The first `slots` start at once, in the caller's thread (so a missing or
    broken binary is reported by start_index, before any page is rendered).
    When more shards are waiting, one thread per running process starts the
    next shard as soon as its process ends, so the later shards also run while
    the site renders rather than after it."""

    def __init__(self, binary: Path, runs: Sequence[ShardRun], slots: int) -> None:
        self.runs = list(runs)
        self._binary = binary
        self._waiting = deque(self.runs)
        self._lock = threading.Lock()
        self._cancelled = False
        self._threads: list[threading.Thread] = []
        first = [self._waiting.popleft() for _ in range(min(max(slots, 1), len(self.runs)))]
        try:
            for run in first:
                self._launch(run)
        except SearchIndexError:
            self.cancel()
            raise
        if self._waiting:
            for run in first:
                thread = threading.Thread(target=self._chain, args=(run,), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _launch(self, run: ShardRun) -> None:
        command = [str(self._binary), "--site", str(run.tree), "--glob", ARTICLE_GLOB,
                   "--output-path", str(run.target), "--quiet"]
        try:
            with open(run.log, "wb") as log:
                run.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        except OSError as exc:
            raise SearchIndexError(f"could not run Pagefind ({exc}); build with --no-search "
                                   "to skip the search index") from exc

    def _chain(self, run: ShardRun) -> None:
        """Wait for `run`, then take the next waiting shard, until none is left."""
        while True:
            assert run.process is not None
            run.process.wait()
            with self._lock:  # launching under the lock: cancel() sees every process
                if self._cancelled or not self._waiting:
                    return
                run = self._waiting.popleft()
                try:
                    self._launch(run)
                except SearchIndexError as exc:
                    run.failure = str(exc)
                    return

    def wait(self, progress: Progress | None = None) -> None:
        """Until every shard is indexed; SearchIndexError if one failed."""
        for thread in self._threads:
            thread.join()
        for done, run in enumerate(self.runs, start=1):
            if run.process is None:
                raise SearchIndexError(run.failure or "Pagefind was not started for "
                                       f"shard {run.shard} (an earlier start failed)")
            code = run.process.wait()
            if code != 0:
                message = run.log.read_text(encoding="utf-8", errors="replace").strip()
                raise SearchIndexError(f"Pagefind failed (exit {code}): {message[-2000:]}")
            if progress:
                progress("search", done, len(self.runs))

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
        for run in self.runs:
            if run.process is not None and run.process.poll() is None:
                run.process.kill()
                run.process.wait()
        for thread in self._threads:
            thread.join()


@dataclass
class PendingIndex:
    shards: list[Shard]  # every shard of the site, in order
    runner: ShardRunner | None  # None: every shard's live index is kept

    def cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()


def start_index(writer: SiteWriter, published: Sequence[Article], stubs: StubStore,
                missing_bodies: Callable[[list[Article]], Mapping[str, str]],
                keep_live: bool = True) -> PendingIndex:
    """Start Pagefind over the stubs of each shard whose articles changed; a
    shard whose live index was built from exactly these stubs keeps it (if
    `keep_live`). `missing_bodies` gives digest → body for articles whose stub
    is not on disk yet."""
    shards = []
    for shard in _shards(published, stubs):
        live = _live_index(writer, shard.group) \
            if keep_live and writer.previous_groups.get(shard.group) == shard.digest else []
        shards.append(replace(shard, live=tuple(live)))
    changed = [s for s in shards if not s.live]
    if not changed:
        return PendingIndex(shards, None)
    binary = pagefind_binary()
    missing = [a for s in changed for a in s.articles if not stubs.path(a).is_file()]
    if missing:
        bodies = missing_bodies(missing)
        for article in missing:
            stubs.write(article, bodies[article.digest])
    work = work_dir(writer.output)
    _clear_runs(work)
    runs = []
    for shard in changed:
        run = ShardRun(shard.index, work / f"site-{shard.index}", work / f"index-{shard.index}",
                       work / f"pagefind-{shard.index}.log")
        _link_tree(run.tree, shard.articles, stubs)
        runs.append(run)
    stubs.prune(stubs.name(a) for a in published)
    return PendingIndex(shards, ShardRunner(binary, runs, os.cpu_count() or 1))


def _clear_runs(work: Path) -> None:
    """Remove the trees, indexes and logs of earlier runs (the stubs stay)."""
    try:
        names = os.listdir(work)
    except OSError:
        return
    for name in names:
        path = work / name
        if name == "stubs":
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _link_tree(tree: Path, articles: Sequence[Article], stubs: StubStore) -> None:
    """articles/<slug>/index.html for each article, a hard link to its stub
    (Pagefind takes each result's URL from the file's path)."""
    base = os.fspath(tree / "articles")
    os.makedirs(base, exist_ok=True)
    for article in articles:
        folder = f"{base}/{article.slug}"
        os.makedirs(folder, exist_ok=True)
        try:
            os.link(stubs.path(article), f"{folder}/index.html")
        except OSError:
            shutil.copyfile(stubs.path(article), f"{folder}/index.html")


def _live_index(writer: SiteWriter, group: str) -> list[tuple[str, Entry]]:
    """The live files of one shard's index, if it is there and intact; else []."""
    manifest = writer.current
    if manifest is None:
        return []
    files = [(rel, e) for rel, e in manifest.files.items() if rel.startswith(group)]
    if not files or not all(writer.intact(rel, e) for rel, e in files):
        return []
    return files


def finish_with_index(writer: SiteWriter, pending: PendingIndex,
                      progress: Progress | None = None) -> WriteResult:
    """Finish a streamed site (see write.SiteWriter) with its search index:
    the shards that are kept, and the ones Pagefind has been building, moved
    into the staged generation before it goes live. A shard folder of an
    earlier build that this one no longer has is deleted like any page no
    longer produced."""
    for shard in pending.shards:
        writer.record_group(shard.group, shard.digest)
        for rel, entry in shard.live:
            writer.put(rel, KEEP, entry.key)
    if pending.runner is None:
        return writer.finish()
    writer.force()  # a new index goes live even if no page changed
    staging = writer.staged()
    assert staging is not None
    pending.runner.wait(progress)
    folders = []
    for run in pending.runner.runs:
        folder = shard_folder(run.shard)
        shutil.rmtree(staging.folder / folder, ignore_errors=True)
        os.replace(run.target, staging.folder / folder)
        folders.append(folder)
        if run.shard == 0:  # the shard list lives and changes with shard 0 (see _shards)
            (staging.folder / INDEX_DIR / SHARDS_FILE).write_bytes(shard_list(len(pending.shards)))
    _clear_runs(work_dir(writer.output))
    return commit(staging, extra_dirs=folders)


def pagefind_binary() -> Path:
    from pagefind.service import get_executable  # the package picks the extended build

    found = get_executable()
    if found is None:
        raise SearchIndexError("the Pagefind binary is missing: install the project's "
                               "dependencies (pip install -e .), or build with --no-search")
    return found


def index_folder(folder: Path, output_path: Path | None = None) -> None:
    """Run Pagefind over the article pages in `folder`, writing folder/pagefind/.

    The CLI is driven directly rather than through Pagefind's Python API: the
    API starts the same binary as a service and, for a folder on disk
    (`add_directory`), does the same work plus message passing; feeding pages
    from memory (`add_html_file`) would need every page rendered, while an
    incremental build keeps unchanged pages on disk only. Measured on the
    10,000-article benchmark corpus (bench.corpus, 2 cores, article pages only):
    CLI 56 s; Python API add_directory 78 s; add_html_file page by page from
    memory did not finish in 5 minutes (one round trip per page)."""
    command = [str(pagefind_binary()), "--site", str(folder), "--glob", ARTICLE_GLOB, "--quiet"]
    if output_path is None:
        command += ["--output-subdir", INDEX_DIR]
    else:
        command += ["--output-path", str(output_path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    except OSError as exc:
        raise SearchIndexError(f"could not run Pagefind ({exc}); build with --no-search "
                               "to skip the search index") from exc
    if done.returncode != 0:
        raise SearchIndexError(f"Pagefind failed (exit {done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-2000:]}")


class BackgroundIndexer:
    """For the preview server: re-index after each rebuild without holding the
    rebuild up. Runs are serialised; requests that arrive during a run fold
    into one more run. The index goes to its own folder (served at
    <base>/pagefind/), outside the site's generation folders."""

    def __init__(self, site: Path, target: Path,
                 report: Callable[[str], None] = print) -> None:
        import threading

        self.site, self.target, self.report = site, target, report
        self._wanted = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                staging = self.target.with_name(self.target.name + ".new")
                shutil.rmtree(staging, ignore_errors=True)
                index_folder(self.site.resolve(), staging)
                (staging / SHARDS_FILE).write_bytes(shard_list(1))
                shutil.rmtree(self.target, ignore_errors=True)
                staging.rename(self.target)
                self.report("search index updated")
            except (OutputError, OSError) as exc:
                self.report(f"search index not updated: {exc}")

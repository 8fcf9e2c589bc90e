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
the build knows which articles are published, Pagefind starts over a tree of
links to their stubs and runs while the site is linked and rendered; its
index is moved into the spare generation before it goes live, so a reader
never sees new pages with an old index or the other way round:

    parse (stubs) → collect → start Pagefind ─┐
                    link → render → stage ────┴→ index into the stage → commit

The index depends only on the published articles' stubs; when their digest
is the one the live index was built from (recorded as the "pagefind/" group
of the manifest) and the live index is intact, it is kept and Pagefind does
not run. Pagefind cannot update an index in place, so any changed article
re-indexes every article (see `index_folder` for why the CLI).
"""

from __future__ import annotations

import hashlib
import html
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from generator import __version__
from generator.write import KEEP, OutputError, SiteWriter, WriteResult, commit, intact

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from generator.models import Article
    from generator.write import Entry

INDEX_DIR = "pagefind"
GROUP = INDEX_DIR + "/"  # the index's digest in the manifest's groups
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


# -- the index, built while the site renders ---------------------------------------
@dataclass
class PendingIndex:
    digest: str  # of the published articles' stubs
    process: subprocess.Popen[bytes] | None  # None: the live index is kept
    target: Path | None = None  # where Pagefind writes the new index

    def cancel(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_index(writer: SiteWriter, published: Sequence[Article], stubs: StubStore,
                missing_bodies: Callable[[list[Article]], Mapping[str, str]],
                keep_live: bool = True) -> PendingIndex:
    """Start Pagefind over the published articles' stubs, unless the live
    index was built from exactly these (then it is kept, if `keep_live`).
    `missing_bodies` gives digest → body for articles whose stub is not on
    disk yet."""
    names = [(a.slug, stubs.name(a)) for a in published]
    digest = hashlib.sha256(repr((STUB_FORMAT, names)).encode()).hexdigest()[:32]
    if keep_live and writer.previous_groups.get(GROUP) == digest and _live_index(writer):
        return PendingIndex(digest, None)
    missing = [a for a in published if not stubs.path(a).is_file()]
    if missing:
        bodies = missing_bodies(missing)
        for article in missing:
            stubs.write(article, bodies[article.digest])
    work = work_dir(writer.output)
    tree, target = work / "site", work / "index"
    for folder in (tree, target):
        shutil.rmtree(folder, ignore_errors=True)
    _link_tree(tree, published, stubs)
    stubs.prune(name for _, name in names)
    command = [str(pagefind_binary()), "--site", str(tree), "--glob", ARTICLE_GLOB,
               "--output-path", str(target), "--quiet"]
    try:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as exc:
        raise SearchIndexError(f"could not run Pagefind ({exc}); build with --no-search "
                               "to skip the search index") from exc
    return PendingIndex(digest, process, target)


def _link_tree(tree: Path, published: Sequence[Article], stubs: StubStore) -> None:
    """articles/<slug>/index.html for each article, a hard link to its stub
    (Pagefind takes each result's URL from the file's path)."""
    base = os.fspath(tree / "articles")
    for article in published:
        folder = f"{base}/{article.slug}"
        os.makedirs(folder, exist_ok=True)
        try:
            os.link(stubs.path(article), f"{folder}/index.html")
        except OSError:
            shutil.copyfile(stubs.path(article), f"{folder}/index.html")


def _live_index(writer: SiteWriter) -> list[tuple[str, Entry]]:
    """The live index's files, if it is there and intact; else []."""
    manifest = writer.current
    if manifest is None:
        return []
    files = [(rel, e) for rel, e in manifest.files.items() if rel.startswith(GROUP)]
    if not files or not all(intact(writer.live, rel, e) for rel, e in files):
        return []
    return files


def finish_with_index(writer: SiteWriter, pending: PendingIndex,
                      progress: Progress | None = None) -> WriteResult:
    """Finish a streamed site (see write.SiteWriter) with its search index: the
    live one kept, or the one Pagefind has been building, moved into the
    staged generation before it goes live."""
    writer.record_group(GROUP, pending.digest)
    if pending.process is None:
        for rel, entry in _live_index(writer):
            writer.put(rel, KEEP, entry.key)
        return writer.finish()
    writer.force()  # a new index goes live even if no page changed
    staging = writer.staged()
    assert staging is not None
    if progress:
        progress("search", 0, 1)
    _, errors = pending.process.communicate()
    if pending.process.returncode != 0:
        message = errors.decode("utf-8", "replace").strip()[-2000:]
        raise SearchIndexError(f"Pagefind failed (exit {pending.process.returncode}): "
                               f"{message}")
    assert pending.target is not None
    shutil.rmtree(staging.folder / INDEX_DIR, ignore_errors=True)
    os.replace(pending.target, staging.folder / INDEX_DIR)
    shutil.rmtree(work_dir(writer.output) / "site", ignore_errors=True)
    if progress:
        progress("search", 1, 1)
    return commit(staging, extra_dirs=[INDEX_DIR])


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
                shutil.rmtree(self.target, ignore_errors=True)
                staging.rename(self.target)
                self.report("search index updated")
            except (OutputError, OSError) as exc:
                self.report(f"search index not updated: {exc}")

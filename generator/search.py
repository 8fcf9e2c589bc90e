"""Full-text search: a Pagefind index of the article bodies, built with the site.

Only article pages are indexed, and on them only the body
(`data-pagefind-body`); the title, date and outlet are metadata shown with
each result, and the outlet and tags are filters. Pagefind's extended build
(the `pagefind[extended]` package) segments Chinese text into words.

The index is written into the spare generation before it goes live, so a
reader never sees new pages with an old index or the other way round:

    stage the pages → run Pagefind on the staged folder → commit

When no page changed the live site (and its index) stays as it is; when
pages changed but no article page did, the live index is carried over.
Pagefind cannot update an index in place, so a changed article re-indexes
every article: the Pagefind binary runs once over the staged folder (see
`index_folder` for why not the Python API).
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Mapping

from generator.write import (KEEP, Content, OutputError, SiteWriter, WriteResult, commit,
                             intact)

INDEX_DIR = "pagefind"
ARTICLE_GLOB = "articles/**/*.html"

Progress = Callable[[str, int, int], None]


class SearchIndexError(OutputError):
    """The index could not be built; the live site is left as it was."""


def write_with_index(output: Path, files: Mapping[str, Content], keys: Mapping[str, str],
                     progress: Progress | None = None) -> WriteResult:
    """Write the site like write.write_site, plus a fresh search index whenever
    an article page changed."""
    writer = SiteWriter(output)
    for rel, data in files.items():
        writer.put(rel, data, keys.get(rel, ""))
    return finish_with_index(writer, progress)


def finish_with_index(writer: SiteWriter, progress: Progress | None = None) -> WriteResult:
    """Finish a streamed site (see write.SiteWriter) with its search index:
    the live index is kept when no article page changed, else Pagefind runs
    over the staged generation before it goes live."""
    live, manifest = writer.live, writer.current
    kept_index = False
    if manifest is not None:
        index_files = [rel for rel in manifest.files if rel.startswith(INDEX_DIR + "/")]
        # The live index is carried over only if it is whole: a damaged one is rebuilt.
        if index_files and all(intact(live, rel, manifest.files[rel]) for rel in index_files):
            for rel in index_files:
                writer.put(rel, KEEP, manifest.files[rel].key)
            kept_index = True
    if not kept_index:
        writer.force()  # no usable index is live: build one even if no page changed
    staging = writer.staged()
    if staging is None:
        return WriteResult((), tuple(sorted(writer.unchanged)), ())
    touched = staging.result.written + staging.result.deleted
    if kept_index and not any(_indexed(rel) for rel in touched):
        # No article page changed (a tag page, the home page...): the index still
        # holds exactly what it would hold if rebuilt, so it goes live as it is.
        return commit(staging)
    # Articles changed: drop the carried index (hard links into the live one) and index anew.
    shutil.rmtree(staging.folder / INDEX_DIR, ignore_errors=True)
    own = {rel: e for rel, e in staging.manifest.files.items()
           if not rel.startswith(INDEX_DIR + "/")}
    unchanged = tuple(r for r in staging.result.unchanged if not r.startswith(INDEX_DIR + "/"))
    staging = dataclasses.replace(
        staging, manifest=dataclasses.replace(staging.manifest, files=own),
        result=dataclasses.replace(staging.result, unchanged=unchanged))
    if progress:
        progress("search", 0, 1)
    if any(_indexed(rel) for rel in own):
        index_folder(staging.folder)
    if progress:
        progress("search", 1, 1)
    return commit(staging, extra_dirs=[INDEX_DIR])


def _indexed(rel: str) -> bool:
    return rel.startswith("articles/") and rel.endswith(".html")


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

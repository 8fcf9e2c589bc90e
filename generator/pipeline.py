"""The build, top to bottom: discover → parse → collect → link → render → write.

Everything is gathered before anything is written, and every stage between
discovery and writing is a pure function of its inputs. Two caches make
rebuilds cheap: parsed articles (keyed by file content and parse settings)
and render keys (stored with the live site), so an unchanged file is not
parsed again and an unchanged page is not rendered again.
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Hashable, Iterable, Iterator, Mapping, Sequence

from generator import __version__
from generator.cache import BuildCache, FileStat, open_cache, remove_cache
from generator.config import Config
from generator.discover import ContentScan, FileEntry, discover
from generator.models import Article, Problem, Severity
from generator.report import BuildReport
from generator.write import (KEEP, MANIFEST, DirectWriter, Entry, SiteWriter,
                             WriteResult, check_output_dir)

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

    from generator.parse import Fresh, ParseOutcome, ParseSettings
    from generator.search import StubStore
    from generator.render import PageJob, Renderer, SharedText, SiteModel, TagInfo
    from generator.tagging import Taxonomy

# The stages below import their heavy modules (lxml, nh3, NumPy, Jinja, the
# tagger) when they run, so a rebuild that finds nothing changed starts fast.

# Below this many files, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 400
BODY_BATCH = 500

Progress = Callable[[str, int, int], None]
# Called once the new site is live, before the build's own bookkeeping (the
# cache's file stats, the stored report): a preview server tells open pages
# to reload at once instead of after it.
OnLive = Callable[[WriteResult], None]

# The content folder as this process's last build found it (see BuildOptions.changed).
CONTENT_SCAN = ContentScan()


@dataclass(frozen=True)
class BuildOptions:
    content: Path
    output: Path
    project: Path  # templates/ and static/ live here
    config: Config
    workers: int = 0  # 0: one per CPU
    clean: bool = False  # ignore the cache and the live site's render keys
    use_cache: bool = True
    search: bool = True  # build the Pagefind search index (generator/search.py)
    # Pages offer search even without an index built here (the preview server
    # indexes in the background); None: offer it when `search` is on.
    search_pages: bool | None = None
    # True: when nothing changed since the last build, say so and stop (the
    # quick path, ≈0.3 s at 10,000 articles). The watch server turns it off
    # for all its builds: its first one then walks the whole site anyway, so
    # that the process holds the memos its later rebuilds reuse (see README,
    # "Rebuilds in one process"); the later ones follow a change, so the
    # quick path would rarely apply to them.
    skip_if_unchanged: bool = True
    # True: this process will build again soon (the watch server's first
    # build): also make what only a later, incremental build would need (the
    # link timeline and counts, every page's key, the list order, the live
    # entries' texts, the spare's manifest: ≈1 s at 10,000 articles), so that
    # the first change after starting is as quick as the ones after it.
    warm: bool = False
    # The paths a file watcher reported changed since this process's last
    # build of the same content (see discover.ContentScan); None: walk the
    # whole content folder.
    changed: frozenset[str] | None = None


@dataclass(frozen=True)
class Parsed:
    outcomes: list[ParseOutcome]
    stats: dict[str, FileStat]
    fresh_bodies: dict[str, str]  # digest → body, for files parsed in this build
    parsed: int
    cached: int


def build(options: BuildOptions, progress: Progress | None = None,
          on_live: OnLive | None = None) -> BuildReport:
    """Build the site described by `options` and say what happened.
    `on_live` is called as soon as a new site is live (not when nothing was
    written: the live site already is the new one)."""
    check_output_dir(options.output, {"content folder": options.content,
                                      "project": options.project})
    with _exclusive(options.output), _no_cycle_collection():
        return _build_locked(options, progress, on_live)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Build with Python's cycle collector off; the caller gets it back as it was.

    A build allocates millions of objects that live until it ends (parsed
    articles, link lists, manifest entries), and the collector, triggered by
    allocation counts, walks them again and again: about a third of an
    incremental build's time at 10,000 articles. The build itself makes
    little cyclic garbage; render workers, which do (Jinja), turn the
    collector back on for their own objects (see _collect_own_garbage)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _collect_own_garbage() -> None:
    """In a worker forked from a build: collect cycles again, but only among
    objects made from here on (the inherited ones are frozen, so the
    collector neither walks them nor dirties their copy-on-write pages)."""
    gc.freeze()
    gc.enable()


@contextmanager
def _exclusive(output: Path) -> Iterator[None]:
    """One build at a time per output folder (a watch server and a manual
    build, say): a second build waits for the first instead of racing it for
    the spare generation and the cache."""
    import fcntl

    output.absolute().parent.mkdir(parents=True, exist_ok=True)
    lock = output.absolute().parent / f".{output.name}.lock"
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_locked(options: BuildOptions, progress: Progress | None,
                  on_live: OnLive | None = None) -> BuildReport:
    cache = _open_cache(options)
    try:
        start = time.perf_counter()
        entries = CONTENT_SCAN.scan(options.content, options.changed)
        content = _content_digest(options, entries)  # hashed once: 10,000 lines
        previous = None
        if options.skip_if_unchanged and not options.clean:
            previous = cache.last_build(build_signature(options, entries, content.copy()))
        if isinstance(previous, BuildReport):
            return _nothing_changed(previous, time.perf_counter() - start)
        report = _build(options, cache, entries, progress, on_live)
        cache.save_last_build(build_signature(options, entries, content), report)
        return report
    finally:
        cache.close()


def build_signature(options: BuildOptions, entries: Sequence[FileEntry],
                    content: hashlib._Hash | None = None) -> str:
    """A hash of everything a build reads — content files (by size and mtime,
    like make), settings, taxonomy, events, pages, templates, static files,
    the generator's own code — and of the live output's manifest. Equal
    signatures mean the build would write nothing. `content`: the hash of
    the first two, from _content_digest(options, entries), if already made."""
    digest = content if content is not None else _content_digest(options, entries)
    config = options.config
    watched = [options.project / "templates", options.project / "static",
               Path(__file__).parent, config.source_path, config.taxonomy_path,
               config.events_path, config.pages_dir]
    for path in watched:
        for found in _stats(path):
            digest.update(found.encode())
    digest.update(_live_marker(options.output).encode())
    return digest.hexdigest()


def _content_digest(options: BuildOptions, entries: Sequence[FileEntry]) -> hashlib._Hash:
    """build_signature's hash object after the settings and the content files."""
    digest = hashlib.sha256(repr((__version__, options.config, options.search)).encode())
    digest.update("".join([f"{e.rel_path}\0{e.size}\0{e.mtime_ns}\n" for e in entries]).encode())
    return digest


def _stats(path: Path | None) -> list[str]:
    if path is None or not path.exists():
        return [f"{path}: none"]
    if path.is_file():
        info = path.stat()
        return [f"{path}\0{info.st_size}\0{info.st_mtime_ns}"]
    return [line for entry in discover(path)
            for line in (f"{path}/{entry.rel_path}\0{entry.size}\0{entry.mtime_ns}",)]


def _live_marker(output: Path) -> str:
    """Which generation is live and its manifest's stat: a hand-deleted or
    swapped output folder changes it."""
    try:
        target = os.readlink(output)
        info = (output / MANIFEST).stat()
        return f"{target}\0{info.st_size}\0{info.st_mtime_ns}"
    except OSError:
        return "no output"


def _nothing_changed(previous: BuildReport, seconds: float) -> BuildReport:
    every = tuple(sorted(set(previous.written.written) | set(previous.written.unchanged)))
    return replace(previous, written=WriteResult((), every, ()), parsed=0,
                   cached=previous.parsed + previous.cached, rendered=0,
                   cache_note=None, timings={"unchanged": round(seconds, 3)})


def _build(options: BuildOptions, cache: BuildCache, entries: Sequence[FileEntry],
           progress: Progress | None, on_live: OnLive | None = None) -> BuildReport:
    """Build the site; the report comes in its stored form (BuildReport.stored),
    made with the help of the last build's (read only now: it is 10 MB)."""
    from generator import collect, search
    from generator.events import load_events
    from generator.pages import read_pages
    from generator.parse import cache_key
    from generator.render import Renderer
    from generator.static import static_files

    config = options.config
    clock = StageClock()
    with clock("discover"):
        taxonomy_text, taxonomy_problems = read_taxonomy(config)
        settings = parse_settings(config, taxonomy_text)
    stubs = _stub_store(options, settings) if options.search else None
    writer = SiteWriter(options.output)
    writer.survey_live()  # the live site's stat checks, on the other core (see survey.py)
    pending = None
    try:
        with clock("parse"):
            parsed = parse_stage(entries, settings, cache, options.workers, progress, stubs)
        outcomes = parsed.outcomes
        problems = taxonomy_problems + [o.problem for o in outcomes if o.problem is not None]
        problems += _unknown_tag_problems(outcomes)
        articles = [o.article for o in outcomes if o.article is not None]
        problems += [Problem(a.rel_path, Severity.WARNING, w) for a in articles for w in a.warnings]
        with clock("collect"):
            published, out_of_scope = collect.split_scope(articles, config.scope, config.zone)
            published, duplicates = collect.deduplicate(published, config.zone)
            published = collect.resolve_slug_collisions(collect.chronological(published))
            site_pages, page_problems = read_pages(config.pages_dir)
            problems += page_problems
        if stubs is not None:
            with clock("search"):  # only starts Pagefind; it runs while the site renders
                pending = search.start_index(writer, published, stubs, lambda missing: _bodies_of(
                    missing, cache, parsed.fresh_bodies, settings, options.content),
                    keep_live=not options.clean)
        with clock("link"):
            site = link_stage(published, _tag_infos(settings.taxonomy), site_pages, config,
                              cache, options.workers or os.cpu_count() or 1, options.warm)
            events, event_problems = load_events(config.events_path, settings.taxonomy.tags)
            problems += event_problems
            site = replace(site, events=tuple(events))
        with clock("render"):
            offer_search = options.search if options.search_pages is None \
                else options.search_pages
            renderer = Renderer(config, options.project / "templates", site,
                                search=offer_search)
            # The live site's render keys, from the manifest the writer already read.
            previous = {} if options.clean else writer.previous
            rendered = render_stage(renderer, previous, cache,
                                    parsed.fresh_bodies, settings, options.workers,
                                    writer, progress, options.content,
                                    {} if options.clean else writer.previous_groups,
                                    warm=options.warm)
            for rel, data in static_files(options.project / "static").items():
                writer.put(rel, data, "")
        with clock("write"):
            if pending is not None:
                result = search.finish_with_index(writer, pending, progress)
            else:
                result = writer.finish()
            if on_live is not None and (result.written or result.deleted):
                on_live(result)
            cache.save_file_stats(parsed.stats)
            cache.prune_outcomes(cache_key(o.digest, settings) for o in outcomes if o.digest)
    finally:
        if pending is not None:
            pending.cancel()  # a failed build leaves no indexer running
        writer.close()
    return BuildReport(published, sorted(problems, key=_problem_order), out_of_scope,
                       duplicates, result, len(entries), options.content, options.output,
                       parsed=parsed.parsed, cached=parsed.cached, rendered=rendered,
                       cache_note=cache.rebuilt_reason, timings=clock.seconds
                       ).stored(config, settings.key, _last_report(cache, options.clean))


def _last_report(cache: BuildCache, clean: bool) -> BuildReport | None:
    found = None if clean else cache.last_report()
    return found if isinstance(found, BuildReport) else None


class StageClock:
    """Wall time per stage, for the report (never written into the site)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(self.seconds.get(stage, 0.0) + time.perf_counter()
                                        - start, 3)


def cache_file(options: BuildOptions) -> Path | None:
    """One cache database per content folder, so building another folder with
    the same settings (a benchmark corpus, a test) does not evict this one."""
    folder = options.config.cache_dir
    if not options.use_cache or folder is None:
        return None
    tag = hashlib.sha256(os.fsencode(options.content.resolve())).hexdigest()[:10]
    return folder / f"build-{tag}.sqlite"


def _open_cache(options: BuildOptions) -> BuildCache:
    path = cache_file(options)
    if path is None:
        return open_cache(None)
    if options.clean:
        remove_cache(path)
    return open_cache(path)


def read_taxonomy(config: Config) -> tuple[str, list[Problem]]:
    """The taxonomy file's text (so workers can build the same automaton) and
    its problems; a missing file means no tags, with a warning."""
    from generator.tagging import parse_taxonomy

    path = config.taxonomy_path
    name = path.name if path else "tags.yaml"
    if path is None or not path.exists():
        return "", [Problem(name, Severity.WARNING, "taxonomy file not found; no tags "
                            "assigned — create it or set 'taxonomy:' in site.yaml")]
    text = path.read_text(encoding="utf-8")
    _, errors = parse_taxonomy(text)
    return text, [Problem(name, Severity.WARNING, e.message, e.line) for e in errors]


def parse_settings(config: Config, taxonomy_text: str) -> ParseSettings:
    from generator.normalize import NormalizeSettings
    from generator.parse import ParseSettings

    normalize = NormalizeSettings(config.timezone, config.summary_chars,
                                  config.reading_chars_per_minute)
    keywords = config.scope.keywords if config.scope.enabled else ()
    return ParseSettings(normalize, tuple(keywords), taxonomy_text, config.max_input_bytes)


# -- parse -------------------------------------------------------------------
def _stub_store(options: BuildOptions, settings: ParseSettings) -> StubStore:
    from generator.search import StubStore

    names = {slug: tag.name for slug, tag in settings.taxonomy.tags.items()}
    return StubStore.for_output(options.output, settings.key, options.config.language,
                                options.config.zone, names)


def parse_stage(entries: Sequence[FileEntry], settings: ParseSettings, cache: BuildCache,
                workers: int, progress: Progress | None, stubs: StubStore | None = None
                ) -> Parsed:
    """Outcomes for every file: this process's last build's when the file is
    unchanged since (see ResidentParse), else from the cache when the file's
    size and mtime match the last build and its parse is cached, else parsed
    now (and, with `stubs`, their search stubs written as they arrive)."""
    known = cache.file_stats()  # also what save_file_stats compares with
    memo_key = (cache.path, settings.key) if cache.db is not None else None
    # What this process parsed is in the database only if it is the one it wrote to.
    reused, others = RESIDENT_PARSE.take(memo_key if cache.as_left else None, entries)
    found, fresh_bodies, parsed = _outcomes_of(others, known, settings, cache, workers,
                                               progress, stubs)
    outcomes, stats = [], {}
    for entry in entries:
        hit = reused.get(entry.rel_path)
        if hit is not None:
            outcomes.append(hit[0])
            stats[entry.rel_path] = hit[1]
            continue
        outcome = found[entry.rel_path]
        outcomes.append(outcome)
        if outcome.digest:
            stats[entry.rel_path] = FileStat(entry.size, entry.mtime_ns, outcome.digest)
    RESIDENT_PARSE.keep(memo_key, entries, outcomes, stats)
    return Parsed(outcomes, stats, fresh_bodies, parsed, len(entries) - parsed)


def _outcomes_of(entries: Sequence[FileEntry], known: Mapping[str, FileStat],
                 settings: ParseSettings, cache: BuildCache, workers: int,
                 progress: Progress | None, stubs: StubStore | None
                 ) -> tuple[dict[str, ParseOutcome], dict[str, str], int]:
    """parse_stage's work for the files it has no outcome for yet: their
    outcomes by path, the bodies of those parsed when there is no cache, and
    how many were parsed."""
    from generator.parse import cache_key

    keyed: dict[str, str] = {}
    for entry in entries:
        stat = known.get(entry.rel_path)
        if stat and stat.size == entry.size and stat.mtime_ns == entry.mtime_ns:
            keyed[entry.rel_path] = cache_key(stat.sha, settings)
    hits = cache.get_outcomes(set(keyed.values()))
    todo = [e for e in entries if keyed.get(e.rel_path) not in hits]
    found = {rel: _at(hits[key], rel) for rel, key in keyed.items() if key in hits}
    fresh_bodies: dict[str, str] = {}
    storing: list[tuple[str, bytes, bytes | None]] = []
    # Bodies go to the cache as they arrive; only without them are outcomes
    # kept, so the build never holds every body (≈100 MB at 10,000 articles).
    # With a cache, parse workers store their files' rows themselves, and
    # send the bodies here only when the search stubs need them.
    store = cache.path if cache.db is not None else None
    for (outcome, record, body), stored in parse_all(todo, settings, workers, progress,
                                                     store, stubs is not None):
        if stubs is not None and outcome.article is not None and body is not None:
            stubs.write(outcome.article, body.decode("utf-8"))
        if cache.db is None:
            if body is not None:
                fresh_bodies[outcome.digest] = body.decode("utf-8")
        elif outcome.digest and not stored:
            storing.append((cache_key(outcome.digest, settings), record, body))
            if len(storing) >= BODY_BATCH:
                cache.put_records(storing)
                storing = []
        found[outcome.rel_path] = outcome
    cache.put_records(storing)
    return found, fresh_bodies, len(todo)


class ResidentParse:
    """The last build's outcome for each file, kept by a long-running process
    (the watch server): its next build takes the outcome of every file whose
    entry (path, size, mtime) is unchanged from here, instead of matching
    10,000 files against the cache's file stats and keys again (≈0.1 s).

    As sound as the cache's own stat check, which it stands in for: the
    entry stands for the file's bytes, the key (cache file, parse settings)
    for everything else an outcome depends on. Only with a cache, which the
    renderer reads these articles' bodies from, and only while that cache
    is the database this process wrote them to (parse_stage asks
    BuildCache.as_left)."""

    def __init__(self) -> None:
        self._key: Hashable = None
        self._by_path: dict[str, tuple[FileEntry, ParseOutcome, FileStat]] = {}

    def take(self, key: Hashable, entries: Sequence[FileEntry]
             ) -> tuple[dict[str, tuple[ParseOutcome, FileStat]], list[FileEntry]]:
        """(outcome, stat) by path of the entries unchanged since the last
        build under `key`, and the other entries."""
        if key is None or key != self._key:
            return {}, list(entries)
        by_path = self._by_path
        reused: dict[str, tuple[ParseOutcome, FileStat]] = {}
        others: list[FileEntry] = []
        for entry in entries:
            hit = by_path.get(entry.rel_path)
            if hit is not None and (hit[0] is entry or hit[0] == entry):
                reused[entry.rel_path] = hit[1], hit[2]
            else:
                others.append(entry)
        return reused, others

    def keep(self, key: Hashable, entries: Sequence[FileEntry],
             outcomes: Sequence[ParseOutcome], stats: Mapping[str, FileStat]) -> None:
        """Remember this build's outcomes; not those of files that could not
        be read (no stat): whatever kept them from being read may change
        without changing their entry (permissions), so they are tried again."""
        self._key = key
        self._by_path = {} if key is None else {
            entry.rel_path: (entry, outcome, stats[entry.rel_path])
            for entry, outcome in zip(entries, outcomes) if entry.rel_path in stats}


RESIDENT_PARSE = ResidentParse()


def _at(outcome: ParseOutcome, rel_path: str) -> ParseOutcome:
    """A cached outcome for a file with the same bytes under this path."""
    if outcome.rel_path == rel_path:
        return outcome
    article = replace(outcome.article, rel_path=rel_path) if outcome.article else None
    problem = replace(outcome.problem, source_path=rel_path) if outcome.problem else None
    return replace(outcome, rel_path=rel_path, article=article, problem=problem)


def parse_all(entries: Sequence[FileEntry], settings: ParseSettings, workers: int,
              progress: Progress | None, store: Path | None = None,
              bodies_wanted: bool = True) -> Iterator[tuple[Fresh, bool]]:
    """Parse files, across processes when there are many; they come in the
    order of `entries`, as they are ready, each with whether its cache row
    is stored already. With `store` (the cache database), worker processes
    store the rows of the files they parse themselves; their bodies then
    come back only if `bodies_wanted` (a row a worker could not store comes
    back whole, for the caller to store)."""
    from generator.parse import fresh, parse_file, unpack

    count = workers or os.cpu_count() or 1
    if count <= 1 or len(entries) < PARALLEL_THRESHOLD:
        for index, entry in enumerate(entries, start=1):
            yield fresh(parse_file(entry, settings)), False
            if progress:
                progress("parse", index, len(entries))
        return
    # Imported only here: it costs a no-op or a small incremental build ≈10 ms.
    from concurrent.futures import ProcessPoolExecutor

    size = max(8, min(64, len(entries) // (count * 8)))
    chunks = [entries[start:start + size] for start in range(0, len(entries), size)]
    done = 0
    with ProcessPoolExecutor(max_workers=count, initializer=_warm_worker,
                             initargs=(settings, store, bodies_wanted)) as pool:
        for parsed in pool.map(_parse_chunk_in_worker, chunks):
            for record, body, stored in parsed:
                yield unpack((record, body)), stored
            done += len(parsed)
            if progress:
                progress("parse", done, len(entries))


def prefetch(entries: Sequence[FileEntry]) -> None:
    """Ask the kernel to start reading these files now, all at once, so that
    reading each in turn finds it in memory. Files out of the page cache (a
    content folder copied in long before; on the benchmark's VM the kernel
    drops file pages unused for half a minute) are otherwise read one at a
    time per worker, each read waiting for the disk. How much that costs
    depends on the disk: on this VM's host-cached one it was within the
    noise, but while the disk was busy freeing a deleted 90 MB cache the
    parse stage of 10,000 articles took 4.5–4.7 s, and 3.2–3.3 s with this.
    A cached file costs the call ≈4 µs."""
    if not hasattr(os, "posix_fadvise"):
        return
    for entry in entries:
        try:
            handle = os.open(entry.location, os.O_RDONLY)
        except OSError:
            continue  # parse_file reports it
        try:
            os.posix_fadvise(handle, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(handle)


# A parse worker's settings, cache database (None: it stores nothing) and
# whether it sends bodies back when it has stored them.
_WORKER_SETTINGS: ParseSettings | None = None
_WORKER_STORE: BuildCache | None = None
_WORKER_SENDS_BODIES = True


def _warm_worker(settings: ParseSettings, store: Path | None = None,
                 bodies_wanted: bool = True) -> None:
    global _WORKER_SETTINGS, _WORKER_STORE, _WORKER_SENDS_BODIES
    _collect_own_garbage()
    _WORKER_SETTINGS = settings
    _WORKER_STORE = _store_for_worker(store) if store is not None else None
    _WORKER_SENDS_BODIES = bodies_wanted
    settings.taxonomy  # parsed once per process; its automaton is built at first use


def _store_for_worker(path: Path) -> BuildCache | None:
    """The worker's own connection to the cache, or None if it cannot have
    one (then it sends every row back for the build to store)."""
    import sqlite3

    try:
        return BuildCache.writer(path)
    except sqlite3.Error:
        return None


def _parse_chunk_in_worker(entries: Sequence[FileEntry]
                           ) -> list[tuple[bytes, bytes | None, bool]]:
    """Each file's outcome packed as the cache stores it (see parse.pack),
    with its body and whether its row is stored. Storing the rows here
    keeps the bodies (≈100 MB at 10,000 articles) off the pipe to the build
    and the build's process, which shares the two cores with the workers,
    out of SQLite."""
    from generator.parse import cache_key, pack, parse_file

    settings = _WORKER_SETTINGS
    assert settings is not None
    prefetch(entries)
    outcomes = [parse_file(entry, settings) for entry in entries]
    packed = [pack(outcome) for outcome in outcomes]
    stored = _WORKER_STORE is not None and _WORKER_STORE.try_put_records(
        [(cache_key(outcome.digest, settings), record, body)
         for outcome, (record, body) in zip(outcomes, packed) if outcome.digest])
    return [(record, None if stored and not _WORKER_SENDS_BODIES else body,
             stored and bool(outcome.digest))
            for outcome, (record, body) in zip(outcomes, packed)]


def _unknown_tag_problems(outcomes: Iterable[ParseOutcome]) -> list[Problem]:
    return [Problem(o.rel_path, Severity.WARNING,
                    f"unknown tag(s) {', '.join(o.unknown_tags)} in the front matter were not "
                    "published; add them to content/tags.yaml as a tag or an alias")
            for o in outcomes if o.unknown_tags]


# -- link ----------------------------------------------------------------------
def link_stage(published: Sequence[Article], tags: dict[str, TagInfo], site_pages: list,
               config: Config, cache: BuildCache | None = None, workers: int = 1,
               warm: bool = False) -> SiteModel:
    """Related articles, same-event reports and co-occurring tags, by slug;
    updated from the last build's lists when few articles changed (in memory,
    when this process made the last build: see linkstate.ResidentLinks)."""
    from generator.groups import group_articles
    from generator.linkstate import link_articles
    from generator.render import build_site_model

    # Grouped while a full link computation waits for its forked half; the
    # site model's grouping then finds this one (groups.LAST) unchanged.
    links = link_articles(published, config.related, config.same_event, cache, workers, warm,
                          meanwhile=lambda: group_articles(published, config.zone))
    return build_site_model(published, tags, site_pages, config, links.related,
                            links.same_event, links.co_occurring)


def _tag_infos(taxonomy: Taxonomy) -> dict[str, TagInfo]:
    from generator.render import TagInfo

    return {slug: TagInfo(slug, t.name, t.en, t.kind) for slug, t in taxonomy.tags.items()}


def _problem_order(problem: Problem) -> tuple[str, int, str]:
    return problem.source_path, problem.line or 0, problem.reason


# -- render --------------------------------------------------------------------
RENDER_CHUNK = 64


def render_stage(renderer: Renderer, previous: Mapping[str, Entry], cache: BuildCache,
                 fresh_bodies: dict[str, str], settings: ParseSettings,
                 workers: int, writer: SiteWriter, progress: Progress | None,
                 content: Path | None = None, previous_groups: Mapping[str, str] | None = None,
                 warm: bool = False) -> int:
    """Render the pages whose key changed and hand every page to `writer` (the
    unchanged ones as KEEP); returns how many pages were rendered. `previous`
    is the live site's manifest (empty: render everything), `previous_groups`
    its group digests: a group whose digest did not change is kept whole,
    without making its pages' jobs or keys (with `warm`, every page's key is
    made in this process, for the memo a later build in this process reads)."""
    pending: list[tuple[PageJob, str]] = []
    by_prefix = _paths_by_group(previous, previous_groups or {})
    if warm:
        renderer.list_order()  # each article's place in lists, memoised by events
        writer.warm()
    for group in renderer.groups():
        if group.prefix is not None:
            writer.record_group(group.prefix, group.digest)
            kept = _keep_group(group.prefix, group.digest, previous_groups or {}, by_prefix,
                               previous, writer.intact)
            if kept is not None:
                for path in kept:
                    writer.put(path, KEEP, previous[path].key)
                if warm:
                    for job in group.jobs():
                        renderer.page_key(job)
                continue
        if group.keyed is not None and (previous or warm):
            for page in group.keyed():
                entry = previous.get(page.path)
                if entry is not None and entry.key == page.key and writer.intact(page.path,
                                                                                   entry):
                    writer.put(page.path, KEEP, page.key)
                else:
                    pending.append((page.job(), page.key))
            continue
        for job in group.jobs():
            entry = previous.get(job.path)
            if entry is None and not warm:
                # Nothing to compare with: the key is computed where the page is
                # rendered (in a worker, on a first or clean build). A warm
                # build computes it here, for the memo its next build reads.
                pending.append((job, ""))
                continue
            key = renderer.page_key(job)
            if entry is not None and entry.key == key and writer.intact(job.path, entry):
                writer.put(job.path, KEEP, key)
            else:
                pending.append((job, key))
    count = workers or os.cpu_count() or 1
    if count > 1 and len(pending) >= PARALLEL_THRESHOLD:
        _render_parallel(renderer, pending, cache, fresh_bodies, settings, count, writer,
                         progress, content)
    else:
        for start in range(0, len(pending), BODY_BATCH):
            batch = pending[start:start + BODY_BATCH]
            for path, data, key in _render_batch(renderer, batch, cache, fresh_bodies,
                                                 settings, content):
                writer.put(path, data, key)
            if start + BODY_BATCH < len(pending):
                # Jinja's cyclic garbage, while the collector is off (see build),
                # before the next batch adds its own. Not after the last batch:
                # with the collector off, generation 0 holds every object the
                # build made, and walking them costs ≈0.15 s at 10,000 articles,
                # more than an incremental build spends rendering.
                gc.collect(0)
            if progress:
                progress("render", min(start + BODY_BATCH, len(pending)), len(pending))
    return len(pending)


def _paths_by_group(previous: Mapping[str, Entry], groups: Mapping[str, str]
                    ) -> dict[str, list[str]]:
    """The live site's pages under each group prefix (site paths are
    directory style, so a page's group is its path up to a prefix's depth)."""
    depths = {prefix.count("/") for prefix in groups}
    found: dict[str, list[str]] = {}
    for path in previous:
        parts = path.split("/")
        for depth in depths:
            prefix = "/".join(parts[:depth]) + "/"
            if len(parts) > depth and prefix in groups:
                found.setdefault(prefix, []).append(path)
    return found


def _keep_group(prefix: str, digest: str, groups: Mapping[str, str],
                by_prefix: Mapping[str, list[str]], previous: Mapping[str, Entry],
                intact: Callable[[str, Entry], bool]) -> list[str] | None:
    """The group's live pages if they can all be kept, else None."""
    if groups.get(prefix) != digest:
        return None
    paths = by_prefix.get(prefix, [])
    if not paths or not all(intact(path, previous[path]) for path in paths):
        return None
    return paths


def _render_batch(renderer: Renderer, batch: Sequence[tuple[PageJob, str]], cache: BuildCache,
                  fresh: dict[str, str], settings: ParseSettings, content: Path | None
                  ) -> list[tuple[str, bytes, str]]:
    bodies = _bodies_for([job for job, _ in batch], cache, fresh, settings, content)
    return [(job.path, renderer.render(job, bodies).encode("utf-8"),
             key or renderer.page_key(job)) for job, key in batch]


# State handed to forked render workers: they inherit it, nothing is pickled
# but the chunk indices going in and the pages' manifest entries coming out.
_RENDER_STATE: tuple[Renderer, list[tuple[PageJob, str]], Path | None, dict[str, str],
                     ParseSettings, Path | None, DirectWriter] | None = None


def _render_parallel(renderer: Renderer, pending: list[tuple[PageJob, str]],
                     cache: BuildCache, fresh: dict[str, str], settings: ParseSettings,
                     count: int, writer: SiteWriter, progress: Progress | None,
                     content: Path | None) -> None:
    """Render in forked processes (they share the site model copy-on-write).
    Each worker writes its pages into the spare generation itself; only their
    manifest entries come back, chunk by chunk, to the writer."""
    import multiprocessing

    global _RENDER_STATE
    renderer.load_templates()
    renderer.list_order()  # made now, so that the workers share it
    forking = multiprocessing.get_context("fork")
    _share_cards(renderer, [job for job, _ in pending], forking, count)
    _RENDER_STATE = (renderer, pending, cache.path if cache.db is not None else None, fresh,
                     settings, content, writer.direct())
    chunks = [(start, min(start + RENDER_CHUNK, len(pending)))
              for start in range(0, len(pending), RENDER_CHUNK)]
    done = 0
    try:
        with forking.Pool(count, _collect_own_garbage) as pool:
            for pages in pool.imap(_render_chunk, chunks):
                for path, entry, key in pages:
                    writer.put_written(path, entry, key)
                done += len(pages)
                if progress:
                    progress("render", done, len(pending))
    finally:
        _RENDER_STATE = None


CARD_CHUNK = 256
_CARD_STATE: tuple[Renderer, list[SharedText]] | None = None


def _share_cards(renderer: Renderer, jobs: Sequence[PageJob], forking: BaseContext,
                 count: int) -> None:
    """Render the cards and link items these pages show once (across `count`
    forked processes when there are many) and hand them to the renderer,
    before the page workers fork, so that they share one copy (see
    render.SharedCards, Renderer.shared_texts)."""
    global _CARD_STATE
    texts = renderer.shared_texts(jobs)
    if len(texts) < PARALLEL_THRESHOLD:
        rendered = [renderer.render_shared(text) for text in texts]
    else:
        _CARD_STATE = (renderer, texts)
        bounds = [(start, min(start + CARD_CHUNK, len(texts)))
                  for start in range(0, len(texts), CARD_CHUNK)]
        try:
            with forking.Pool(count, _collect_own_garbage) as pool:
                rendered = [html for chunk in pool.imap(_render_cards, bounds) for html in chunk]
        finally:
            _CARD_STATE = None
    renderer.share_texts(texts, rendered)


def _render_cards(bounds: tuple[int, int]) -> list[str]:
    assert _CARD_STATE is not None
    renderer, texts = _CARD_STATE
    return [renderer.render_shared(text) for text in texts[bounds[0]:bounds[1]]]


def _render_chunk(bounds: tuple[int, int]) -> list[tuple[str, Entry | None, str]]:
    assert _RENDER_STATE is not None
    renderer, pending, cache_path, fresh, settings, content, direct = _RENDER_STATE
    cache = _worker_cache(cache_path)
    return [(path, direct.write(path, data, key), key)
            for path, data, key in _render_batch(renderer, pending[bounds[0]:bounds[1]], cache,
                                                 fresh, settings, content)]


_WORKER_CACHE: BuildCache | None = None


def _worker_cache(path: Path | None) -> BuildCache:
    """One read-only cache connection per worker process (never the parent's)."""
    global _WORKER_CACHE
    if _WORKER_CACHE is None or _WORKER_CACHE.path != path:
        _WORKER_CACHE = BuildCache.reader(path) if path is not None else open_cache(None)
    return _WORKER_CACHE


def _bodies_for(jobs: Sequence[PageJob], cache: BuildCache, fresh: dict[str, str],
                settings: ParseSettings, content: Path | None = None) -> dict[str, str]:
    """digest → body HTML for the articles these pages show."""
    return _bodies_of([a for job in jobs for a in job.bodies], cache, fresh, settings, content)


def _bodies_of(articles: Sequence[Article], cache: BuildCache, fresh: dict[str, str],
               settings: ParseSettings, content: Path | None = None) -> dict[str, str]:
    """digest → body HTML of these articles: from this build's parses, else
    the cache, else (a cache damaged or pruned by another build) by parsing
    the article's file again."""
    from generator.parse import cache_key

    wanted = {a.digest: a for a in articles}
    bodies = {d: fresh[d] for d in wanted if d in fresh}
    missing = {cache_key(d, settings): d for d in set(wanted) - set(bodies)}
    for key, body in cache.bodies(missing):
        if body is not None:
            bodies[missing[key]] = body
    for digest in set(wanted) - set(bodies):
        again = _reparse_body(wanted[digest], settings, content)
        if again is None:
            raise RuntimeError(f"the body of {wanted[digest].rel_path} is neither in the cache "
                               "nor readable from its file; run the build again")
        bodies[digest] = again
    return bodies


def _reparse_body(article: Article, settings: ParseSettings, content: Path | None) -> str | None:
    from generator.parse import parse_file

    if content is None:
        return None
    path = content / article.rel_path
    try:
        info = path.stat()
    except OSError:
        return None
    outcome = parse_file(FileEntry(article.rel_path, str(path), info.st_size, info.st_mtime_ns),
                         settings)
    return outcome.body_html if outcome.digest == article.digest else None

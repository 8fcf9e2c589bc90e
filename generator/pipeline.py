"""The build, top to bottom: discover → parse → tag → collect → render → write.

Everything is gathered before anything is written, and every stage between
discovery and writing is a pure function of its inputs.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from generator import collect
from generator.config import Config
from generator.discover import FileEntry, discover
from generator.models import Article, Page, Problem, Severity
from generator.normalize import NormalizeSettings
from generator.pages import read_pages
from generator.parse import ParseOutcome, parse_file
from generator.render import Renderer, TagInfo, build_site_model
from generator.report import BuildReport
from generator.static import static_files
from generator.tagging import Taxonomy, load_taxonomy
from generator.write import check_output_dir, write_site

# Below this many files, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 400

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildOptions:
    content: Path
    output: Path
    project: Path  # templates/ and static/ live here
    config: Config
    workers: int = 0  # 0: one per CPU


def build(options: BuildOptions, progress: Progress | None = None) -> BuildReport:
    """Build the site described by `options` and say what happened."""
    config = options.config
    check_output_dir(options.output, {"content folder": options.content,
                                      "project": options.project})
    entries = discover(options.content)
    outcomes = parse_all(entries, normalize_settings(config), config.max_input_bytes,
                         options.workers, progress)
    problems = [o.problem for o in outcomes if o.problem is not None]
    taxonomy, taxonomy_problems = _taxonomy(config)
    problems += taxonomy_problems
    articles, tag_problems = tag_articles([o.article for o in outcomes if o.article], taxonomy)
    problems += tag_problems + _warnings(articles)
    published, out_of_scope = collect.split_scope(articles, config.scope, config.zone)
    published, duplicates = collect.deduplicate(published, config.zone)
    published = collect.resolve_slug_collisions(collect.chronological(published))
    site_pages, page_problems = read_pages(config.pages_dir)
    problems += page_problems
    site = build_site_model(published, _tag_infos(taxonomy), site_pages, config)
    files = render_files(site, config, options.project)
    result = write_site(options.output, files)
    return BuildReport(published, sorted(problems, key=_problem_order), out_of_scope,
                       duplicates, result, len(entries), options.content, options.output)


def normalize_settings(config: Config) -> NormalizeSettings:
    return NormalizeSettings(config.timezone, config.summary_chars,
                             config.reading_chars_per_minute)


def parse_all(entries: Sequence[FileEntry], settings: NormalizeSettings, max_bytes: int,
              workers: int, progress: Progress | None) -> list[ParseOutcome]:
    """Parse every file, across processes when there are many."""
    count = workers or os.cpu_count() or 1
    if count <= 1 or len(entries) < PARALLEL_THRESHOLD:
        results = []
        for index, entry in enumerate(entries, start=1):
            results.append(parse_file(entry, settings, max_bytes))
            if progress:
                progress("parse", index, len(entries))
        return results
    chunk = max(16, len(entries) // (count * 8))
    with ProcessPoolExecutor(max_workers=count) as pool:
        results = []
        for index, outcome in enumerate(pool.map(parse_file, entries,
                                                 [settings] * len(entries),
                                                 [max_bytes] * len(entries), chunksize=chunk),
                                        start=1):
            results.append(outcome)
            if progress and index % 100 == 0:
                progress("parse", index, len(entries))
        return results


def _taxonomy(config: Config) -> tuple[Taxonomy, list[Problem]]:
    path = config.taxonomy_path
    if path is None or not path.exists():
        from generator.tagging import TaggingRules, build_taxonomy
        note = [Problem(str(path), Severity.WARNING, "taxonomy file not found; no tags "
                        "assigned — create it or set 'taxonomy:' in site.yaml")] if path else []
        return build_taxonomy([], TaggingRules()), note
    taxonomy, errors = load_taxonomy(path)
    return taxonomy, [Problem(path.name, Severity.WARNING, e.message, e.line) for e in errors]


def tag_articles(articles: Iterable[Article], taxonomy: Taxonomy) -> tuple[list[Article],
                                                                          list[Problem]]:
    """Detected tags merged with hand-written ones; unknown hand-written tags reported."""
    tagged, problems = [], []
    for article in articles:
        detected = taxonomy.tag(article.title, article.text)
        merged, unknown = taxonomy.merge(detected, article.declared_tags)
        tagged.append(replace(article, tags=merged))
        if unknown:
            problems.append(Problem(article.rel_path, Severity.WARNING,
                                    f"unknown tag(s) {', '.join(unknown)} in the front matter "
                                    "were not published; add them to content/tags.yaml as a "
                                    "tag or an alias"))
    return tagged, problems


def _tag_infos(taxonomy: Taxonomy) -> dict[str, TagInfo]:
    return {slug: TagInfo(slug, t.name, t.en, t.kind) for slug, t in taxonomy.tags.items()}


def _warnings(articles: Iterable[Article]) -> list[Problem]:
    return [Problem(a.rel_path, Severity.WARNING, w) for a in articles for w in a.warnings]


def _problem_order(problem: Problem) -> tuple[str, int, str]:
    return problem.source_path, problem.line or 0, problem.reason


def render_files(site, config: Config, project: Path) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """Every output file as bytes, keyed by its path in the output folder."""
    renderer = Renderer(config, project / "templates", site)
    files = {path: text.encode("utf-8") for path, text in renderer.all_pages()}
    files.update(static_files(project / "static"))
    return files

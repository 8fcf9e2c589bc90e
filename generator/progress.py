"""Terminal output: a progress bar on long builds and the closing summary."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from generator.pipeline import Progress as ProgressCallback
from generator.report import BuildReport

_STAGES = {"parse": "读取文章", "render": "生成页面", "search": "建立搜索索引"}


@contextmanager
def console_progress(enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """A progress callback that draws a bar on a terminal (and nothing in CI logs)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=Console(stderr=True), transient=True)
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        if total < 200:
            return
        if stage not in tasks:
            tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done)

    with bar:
        yield update


def print_summary(report: BuildReport, verbose: bool = True) -> None:
    written = report.written
    print(f"{len(report.articles)} articles from {report.files_seen} files "
          f"({report.parsed} parsed, {report.cached} from cache); "
          f"pages rendered {report.rendered}, written {len(written.written)}, unchanged {len(written.unchanged)}, "
          f"deleted {len(written.deleted)}; {len(report.errors)} errors, "
          f"{len(report.warnings)} warnings, {len(report.out_of_scope)} out of scope, "
          f"{len(report.duplicates)} duplicates")
    if report.cache_note:
        print(f"  note: the cache was rebuilt: it {report.cache_note}", file=sys.stderr)
    if not verbose:
        return
    for problem in report.problems:
        where = problem.source_path + (f":{problem.line}" if problem.line else "")
        print(f"  {problem.severity.value}: {where}: {problem.reason}", file=sys.stderr)
    for dup in report.duplicates:
        print(f"  duplicate: {dup.source_path} is the same article as {dup.duplicate_of} "
              f"({dup.reason}); only one page was made", file=sys.stderr)
    for item in report.out_of_scope:
        print(f"  out of scope: {item.source_path}: {item.reason}", file=sys.stderr)

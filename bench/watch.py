"""Time the watch server's rebuilds: one article added, then removed, in one process.

    .venv/bin/python -m bench.watch --corpus bench/work/corpus-10000 --cycles 5
    .venv/bin/python -m bench.watch --corpus bench/work/corpus-10000 --cycles 5 --serve

`serve --watch` calls pipeline.build in its own long-running process after
each batch of changes. By default this runs the same call in a loop over a
corpus made by bench.run: a first build (cold unless the output and cache are
there from an earlier run), then `--cycles` times: copy the corpus's extra
article in, rebuild, remove it, rebuild. Each rebuild's wall and CPU time,
the moment its pages went live (the build's on_live call, before its own
bookkeeping) and its report's stage times are printed; the summary gives min
and median. Without search, as the watch server builds pages (its indexer
runs beside).

With --serve it measures what a reader waits for instead: it starts the real
`serve --watch --no-search` and times each change from the file landing in
the content folder to the server's line saying the new pages are live (it
prints it when it tells open pages to reload, before the build's own
bookkeeping): the watcher's wait for quiet (watchfiles yields a batch after
50 ms without events) plus the rebuild up to the switch. Each time it then
asks the server for the article's page: 200 after adding, 404 after removing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tools import PROJECT  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.serve:
        return _through_server(args)
    from generator.config import load_config
    from generator.pipeline import BuildOptions, build

    corpus = args.corpus.resolve()
    content, extra = corpus / "ours", sorted((corpus / "ours-extra").iterdir())[0]
    work = args.work.resolve()
    config = replace(load_config(PROJECT / "site.yaml"), cache_dir=work / ".cache")
    # As the watch server builds (see cli._rebuild_summary).
    options = BuildOptions(content, work / "public", PROJECT, config, search=False,
                           search_pages=True, skip_if_unchanged=False)

    target = content / extra.name

    def rebuild(kind: str) -> dict[str, Any]:
        wall, cpu = time.perf_counter(), time.process_time()
        live: list[float] = []
        # As the server's: the first warms the process, the others are told
        # the path its watcher reported.
        first = kind == "first"
        report = build(replace(options, warm=first,
                               changed=None if first else frozenset({str(target)})),
                       on_live=lambda _: live.append(time.perf_counter() - wall))
        row = {"kind": kind, "wall_s": time.perf_counter() - wall,
               "live_s": live[0] if live else None,
               "cpu_s": time.process_time() - cpu, "rendered": report.rendered,
               "written": len(report.written.written), "stages": report.timings}
        print(json.dumps(row), flush=True)
        return row

    rebuild("first")
    rows: list[dict[str, Any]] = []
    try:
        for _ in range(args.cycles):
            shutil.copy2(extra, target)
            rows.append(rebuild("add"))
            target.unlink()
            rows.append(rebuild("remove"))
    finally:
        target.unlink(missing_ok=True)
    for kind in ("add", "remove"):
        lives = [r["live_s"] for r in rows if r["kind"] == kind]
        walls = [r["wall_s"] for r in rows if r["kind"] == kind]
        cpus = [r["cpu_s"] for r in rows if r["kind"] == kind]
        print(f"{kind}: pages live after min {min(lives):.2f} s, median "
              f"{statistics.median(lives):.2f} s; whole rebuild min {min(walls):.2f} s, median "
              f"{statistics.median(walls):.2f} s; CPU min {min(cpus):.2f} s, median "
              f"{statistics.median(cpus):.2f} s ({len(walls)} rebuilds)")
    return 0


def _through_server(args: argparse.Namespace) -> int:
    """Time each change from the file landing to the server's line saying the
    new pages are live, and check then that the article's page is (or, after
    removing it, is no longer) served."""
    import subprocess

    corpus = args.corpus.resolve()
    content, extra = corpus / "ours", sorted((corpus / "ours-extra").iterdir())[0]
    page = _served_url(extra, args.port)
    command = [sys.executable, "-m", "generator", "serve", "--watch", "--no-search",
               "--content", str(content), "--output", str(args.work.resolve() / "served"),
               "--port", str(args.port)]
    # Unbuffered: each line must reach us when the server prints it.
    server = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert server.stdout is not None
    target = content / extra.name
    waits: dict[str, list[float]] = {"add": [], "remove": []}
    try:
        _line_with(server.stdout, "serving ")  # the first build is done
        for _ in range(args.cycles):
            for kind in ("add", "remove"):
                time.sleep(1.0)  # the server idle again, its watcher quiet
                start = time.perf_counter()
                shutil.copy2(extra, target) if kind == "add" else target.unlink()
                line = _line_with(server.stdout, "change(s):")
                waits[kind].append(time.perf_counter() - start)
                status = _status(page)
                if status != (200 if kind == "add" else 404):
                    raise RuntimeError(f"{page} answered {status} after {kind}: {line.strip()}")
                done = _line_with(server.stdout, "articles") if "pages live" in line else line
                print(json.dumps({"kind": kind, "wait_s": round(waits[kind][-1], 3),
                                  "server": line.strip(), "summary": done.strip()}), flush=True)
    finally:
        target.unlink(missing_ok=True)
        server.terminate()
        server.wait(timeout=30)
    for kind, found in waits.items():
        print(f"{kind}: file to pages live min {min(found):.2f} s, "
              f"median {statistics.median(found):.2f} s ({len(found)} changes)")
    return 0


def _served_url(extra: Path, port: int) -> str:
    """Where the preview server serves the extra article's page."""
    from generator import urls
    from generator.config import load_config
    from generator.discover import discover
    from generator.parse import parse_file
    from generator.pipeline import parse_settings, read_taxonomy
    from generator.serve import local_config

    config = local_config(load_config(PROJECT / "site.yaml"), "127.0.0.1", port)
    settings = parse_settings(config, read_taxonomy(config)[0])
    entry = next(e for e in discover(extra.parent) if e.rel_path == extra.name)
    article = parse_file(entry, settings).article
    if article is None:
        raise RuntimeError(f"{extra} does not parse into an article")
    return config.base_url + urls.article(article.slug)


def _status(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _line_with(stream: IO[str], text: str) -> str:
    for line in stream:
        if text in line:
            return line
        if line.startswith("rebuild failed"):
            raise RuntimeError(line.strip())
    raise RuntimeError(f"the server stopped before printing {text!r}")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True,
                        help="a corpus folder made by bench.run (with ours/ and ours-extra/)")
    parser.add_argument("--work", type=Path, default=PROJECT / "bench" / "work" / "watch",
                        help="where the output and the cache go")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--serve", action="store_true",
                        help="time the real serve --watch from file landing to pages live")
    parser.add_argument("--port", type=int, default=8765, help="for --serve")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())

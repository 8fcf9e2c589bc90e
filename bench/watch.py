"""Time the watch server's rebuilds: one article added, then removed, in one process.

    .venv/bin/python -m bench.watch --corpus bench/work/corpus-10000 --cycles 5
    .venv/bin/python -m bench.watch --corpus bench/work/corpus-10000 --cycles 5 --serve

`serve --watch` calls pipeline.build in its own long-running process after
each batch of changes. By default this runs the same call in a loop over a
corpus made by bench.run: a first build (cold unless the output and cache are
there from an earlier run), then `--cycles` times: copy the corpus's extra
article in, rebuild, remove it, rebuild. Each rebuild's wall and CPU time and
its report's stage times are printed; the summary gives min and median.
Without search, as the watch server builds pages (its indexer runs beside).

With --serve it measures what a reader waits for instead: it starts the real
`serve --watch --no-search` and times each change from the file landing in
the content folder to the server's line saying the rebuild is done (the new
pages are live by then): the watcher's wait for quiet (watchfiles yields a
batch after 50 ms without events) plus the rebuild.
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
    options = BuildOptions(content, work / "public", PROJECT, config, search=False,
                           search_pages=True)

    def rebuild(kind: str) -> dict[str, Any]:
        wall, cpu = time.perf_counter(), time.process_time()
        report = build(options)
        row = {"kind": kind, "wall_s": time.perf_counter() - wall,
               "cpu_s": time.process_time() - cpu, "rendered": report.rendered,
               "written": len(report.written.written), "stages": report.timings}
        print(json.dumps(row), flush=True)
        return row

    rebuild("first")
    target = content / extra.name
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
        walls = [r["wall_s"] for r in rows if r["kind"] == kind]
        cpus = [r["cpu_s"] for r in rows if r["kind"] == kind]
        print(f"{kind}: wall min {min(walls):.2f} s, median {statistics.median(walls):.2f} s; "
              f"CPU min {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s "
              f"({len(walls)} rebuilds)")
    return 0


def _through_server(args: argparse.Namespace) -> int:
    """Time each change from the file landing to the server's rebuild line."""
    import subprocess

    corpus = args.corpus.resolve()
    content, extra = corpus / "ours", sorted((corpus / "ours-extra").iterdir())[0]
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
                print(json.dumps({"kind": kind, "wait_s": round(waits[kind][-1], 3),
                                  "server": line.strip()}), flush=True)
    finally:
        target.unlink(missing_ok=True)
        server.terminate()
        server.wait(timeout=30)
    for kind, found in waits.items():
        print(f"{kind}: file to pages live min {min(found):.2f} s, "
              f"median {statistics.median(found):.2f} s ({len(found)} changes)")
    return 0


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

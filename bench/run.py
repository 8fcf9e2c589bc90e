"""Benchmark our generator against Hugo and Pelican on the same synthetic corpus.

    .venv/bin/python -m bench.run --sizes 1000,10000 --reps 3     # or --reps 3,2

First the generator is copied to bench/work/generator-snapshot/ so that every rep
measures the same code while others keep editing generator/ (--live: don't).
For each N: make (or reuse) the deterministic corpus, then repeat, per rep and
in this order so that slow drift of the machine hits every tool alike:

  ours_cold     our build with no output folder and no cache (--clean if the CLI has it)
  ours_noop     the same build again, nothing changed
  ours_add1     after adding one article file to the corpus
  ours_remove1  after removing it again (this also restores the corpus)
  ours_server_* the same three with a build server running (`generator server
                start`, timed as ours_server_start: its warm-up build), when
                the CLI has one; the server is stopped before the next row
  ours_search   cold build with search, only when the CLI has --no-search
                (then the ours_* rows above pass --no-search)
  hugo          hugo --quiet -s SITE -d OUT, fresh output folder
  pagefind      python -m pagefind --site OUT over Hugo's output, when installed
  pelican       pelican CONTENT -s pelicanconf.py -o OUT, fresh output folder

Results: bench/results/<date>-n<N>.json and .md, and bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence

if __package__ in (None, ""):  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus as corpus_mod  # noqa: E402
from bench.measure import Measurement, run_measured  # noqa: E402
from bench.report import (RunRecord, Scenario, cold_build_note,  # noqa: E402
                          combined_markdown, markdown, results_document, write_json)
from bench.tools import (PROJECT, ToolMissing, Tools, discover_tools,  # noqa: E402
                         machine_info, snapshot_generator)
from bench.trash import Trash, remove  # noqa: E402

BENCH = PROJECT / "bench"
HUGO_TEMPLATE = BENCH / "hugo-site"
PELICAN_CONF = BENCH / "pelican-site" / "pelicanconf.py"
DEFAULT_TIMEOUT_S = 30 * 60


# -- one size ---------------------------------------------------------------------------
class SizeBench:
    """All scenarios for one corpus size; holds the paths and the scenarios' runs."""

    def __init__(self, n: int, paths: corpus_mod.CorpusPaths, tools: Tools, work: Path,
                 timeout_s: float, trash: Trash, hugo_related: bool = False) -> None:
        self.n = n
        # Old outputs go here, not away: see trash.py on deleting before a timed build.
        self.trash = trash
        self.hugo_related = hugo_related
        self.paths = paths
        self.tools = tools
        self.timeout_s = timeout_s
        self.run_dir = work / f"run-{n}"  # cwd of every run: a relative .cache lands here
        self.out = {name: self.run_dir / f"out-{name}" for name in ("ours", "hugo", "pelican")}
        self.scenarios: dict[str, Scenario] = {}
        self.first_cold_report: dict[str, Any] | None = None
        self.failures: list[str] = []
        self.tools_wanted = {"ours", "hugo", "pelican"}
        self.skip_search = False

    # ---- helpers ------------------------------------------------------------------
    def scenario(self, name: str) -> Scenario:
        return self.scenarios.setdefault(name, Scenario(name))

    def measure(self, name: str, rep: int, command: list[str], output: Path,
                env: dict[str, str] | None = None,
                check: Callable[[Measurement], str | None] | None = None) -> RunRecord:
        """Run and record one timed command; `check` may veto a run that exited 0."""
        scenario = self.scenario(name)
        scenario.command = command
        m = run_measured(command, cwd=self.run_dir, timeout_s=self.timeout_s, env=env)
        error = None if m.ok else (f"timed out after {self.timeout_s:.0f} s" if m.timed_out
                                   else f"exit {m.returncode}: {m.stderr_tail.strip()}")
        if error is None and check is not None:
            error = check(m)
        record = RunRecord(rep, error is None, m.wall_s, m.peak_rss_bytes,
                           m.max_single_rss_bytes, m.cpu_s, m.others_cpu_s,
                           count_html(output), m.returncode, m.timed_out, error=error,
                           peak_pss_bytes=m.peak_pss_bytes)
        scenario.runs.append(record)
        if error:
            self.failures.append(f"{name} rep {rep}: {error}")
        status = "ok" if record.ok else f"FAILED: {last_line(error or '')}"
        print(f"  n={self.n} rep {rep} {name:<12} {m.wall_s:8.2f} s  cpu {m.cpu_s:7.2f} s "
              f"{m.peak_rss_bytes / 2**20:7.0f} MB {record.html_pages:>7} html  "
              f"others {m.others_cpu_s / max(m.wall_s, 1e-9):.1f} CPUs  {status}", flush=True)
        return record

    # ---- our generator --------------------------------------------------------------
    def ours_command(self, report: Path, *, clean: bool, search: bool) -> list[str]:
        command = [self.tools.python, "-m", "generator", "build",
                   "--content", str(self.paths.ours), "--output", str(self.out["ours"]),
                   "--config", str(self.tools.generator_root / "site.yaml"),
                   "--report", str(report), "--quiet"]
        if clean and self.tools.has_flag("--clean"):
            command.append("--clean")
        if not search and self.tools.has_flag("--no-search"):
            command.append("--no-search")
        if self.tools.has_flag("--cache-dir"):  # keep the bench's cache out of the project
            command += ["--cache-dir", str(self.run_dir / ".cache")]
        return command

    def run_ours(self, name: str, rep: int, *, clean: bool, search: bool,
                 expect_articles: int) -> RunRecord:
        report = self.run_dir / f"report-{name}.json"
        report.unlink(missing_ok=True)
        if clean:
            self.clear_ours()
        record = self.measure(name, rep, self.ours_command(report, clean=clean, search=search),
                              self.out["ours"], env=self.tools.generator_env(),
                              check=lambda m: self.check_report(report, expect_articles))
        record.report_counts = read_counts(report)
        if name == "ours_cold" and self.first_cold_report is None and report.exists():
            self.first_cold_report = json.loads(report.read_text(encoding="utf-8"))
        return record

    def check_report(self, report: Path, expect_articles: int) -> str | None:
        """A build that exits 0 but publishes the wrong number of articles is a failure."""
        counts = read_counts(report)
        if counts is None:
            return f"no readable --report at {report}"
        if counts.get("articles") != expect_articles:
            return (f"published {counts.get('articles')} articles, expected {expect_articles} "
                    f"(errors {counts.get('errors')}, out of scope {counts.get('out_of_scope')}"
                    f", duplicates {counts.get('duplicates')})")
        return None

    def clear_ours(self) -> None:
        """No output and no cache, wherever the generator may keep one. The
        cache goes to the trash like the output (and like Hugo's cache):
        deleting it (≈90 MB at 10,000 articles) right before the cold build
        made that build slower, 7.9–9.2 s against 7.4–8.1 s when it was moved
        aside (three runs each, by hand)."""
        out = self.out["ours"]
        self.trash.discard(out)
        for leftover in out.parent.glob(f".{out.name}.*"):  # staging folders of write.py
            self.trash.discard(leftover)
        for folder in (self.run_dir, self.paths.ours.parent, self.tools.generator_root):
            self.trash.discard(folder / ".cache")

    def ours_rep(self, rep: int) -> None:
        search_separately = self.tools.has_flag("--no-search")
        cold = self.run_ours("ours_cold", rep, clean=True, search=not search_separately,
                             expect_articles=self.n)
        if not cold.ok:
            return  # the incremental runs mean nothing without a good first build
        self.incremental_rows("ours", rep, search=not search_separately)
        if self.tools.has_flag("--no-server"):
            self.server_reps(rep, search=not search_separately)
        if search_separately and not self.skip_search:
            self.run_ours("ours_search", rep, clean=True, search=True, expect_articles=self.n)

    def incremental_rows(self, prefix: str, rep: int, *, search: bool) -> None:
        """<prefix>_noop, then _add1 after adding one article, then _remove1
        after removing it again (which restores the corpus)."""
        self.run_ours(f"{prefix}_noop", rep, clean=False, search=search, expect_articles=self.n)
        added = [shutil.copy2(f, self.paths.ours / f.name) for f in self.paths.extra.iterdir()]
        try:
            self.run_ours(f"{prefix}_add1", rep, clean=False, search=search,
                          expect_articles=self.n + 1)
        finally:
            for path in added:
                Path(path).unlink(missing_ok=True)
        self.run_ours(f"{prefix}_remove1", rep, clean=False, search=search,
                      expect_articles=self.n)

    def server_reps(self, rep: int, *, search: bool) -> None:
        """The incremental rows again, handed to a build server (generator/buildserver.py).
        The rows' memory is the client's; the server's is in the start row's note."""
        server = [self.tools.python, "-m", "generator", "server"]
        options = ["--content", str(self.paths.ours), "--output", str(self.out["ours"]),
                   "--config", str(self.tools.generator_root / "site.yaml"),
                   *([] if search else ["--no-search"])]
        started = self.measure("ours_server_start", rep, [*server, "start", *options],
                               self.out["ours"], env=self.tools.generator_env())
        try:
            if not started.ok:
                return
            self.incremental_rows("ours_server", rep, search=search)
            self.scenario("ours_server_start").note = server_memory_note(
                self.tools.python, options, self.run_dir, self.tools.generator_env())
        finally:
            run_measured([*server, "stop", *options], cwd=self.run_dir,
                         timeout_s=self.timeout_s, env=self.tools.generator_env())

    # ---- Hugo, Pagefind, Pelican ----------------------------------------------------
    def hugo_rep(self, rep: int) -> None:
        site, out = self.paths.hugo_site, self.out["hugo"]
        sync_hugo_site(site)
        cache = self.run_dir / "hugo-cache"
        for folder in (out, cache, site / "resources"):
            self.trash.discard(folder)
        command = [self.tools.hugo, "--quiet", "-s", str(site), "-d", str(out),
                   "--cacheDir", str(cache)]
        # Hugo reads HUGO_PARAMS_* into site.Params; see hugo.toml on why it is opt-in.
        env = {**os.environ, "HUGO_PARAMS_RELATED": "true" if self.hugo_related else "false"}
        hugo = self.measure("hugo", rep, command, out, env=env,
                            check=lambda m: expect_pages(out, self.n))
        if hugo.ok and self.tools.pagefind:
            self.measure("pagefind", rep, [self.tools.python, "-m", "pagefind", "--site",
                                           str(out)], out)

    def pelican_rep(self, rep: int) -> None:
        out = self.out["pelican"]
        self.trash.discard(out)
        command = [self.tools.python, "-m", "pelican", str(self.paths.pelican_content),
                   "-s", str(PELICAN_CONF), "-o", str(out), "-q"]
        # No __pycache__ next to pelicanconf.py in the source tree.
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        self.measure("pelican", rep, command, out, env=env,
                     check=lambda m: expect_pages(out, self.n))

    def run(self, reps: int) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for rep in range(1, reps + 1):
            if "ours" in self.tools_wanted:
                self.ours_rep(rep)
            if "hugo" in self.tools_wanted:
                self.hugo_rep(rep)
            if "pelican" in self.tools_wanted:
                self.pelican_rep(rep)
        self.annotate()
        if self.tools.generator_root == PROJECT and not self.tools.has_flag("--cache-dir"):
            # --live runs used the project's own .cache/; leave no synthetic-corpus
            # cache behind for the next real build.
            remove(PROJECT / ".cache")

    def annotate(self) -> None:
        if "hugo" in self.scenarios:
            self.scenarios["hugo"].note = (
                "with 5 related articles per page (--hugo-related)" if self.hugo_related else
                "no related-articles section (ours has one): Hugo's .Related is O(N) per "
                "page on this corpus; --hugo-related adds it")
        if "ours_cold" in self.scenarios:
            self.scenarios["ours_cold"].note = cold_build_note(
                self.tools.generator_flags, "ours_search" in self.scenarios)

    def problems(self) -> dict[str, Any]:
        """What the generator said about the synthetic corpus (first cold build)."""
        report = self.first_cold_report or {}
        problems = report.get("problems", [])
        errors = [p for p in problems if p.get("severity") == "error"]
        counts = report.get("counts", {})
        return {"errors": len(errors), "warnings": counts.get("warnings"),
                "out_of_scope": counts.get("out_of_scope"),
                "duplicates": counts.get("duplicates"),
                "sample": (errors or problems)[:5], "failures": self.failures[:10]}


# -- helpers ----------------------------------------------------------------------------
def sync_hugo_site(site: Path) -> None:
    """Copy the config and layouts from bench/hugo-site into the corpus's site folder
    (Hugo writes a lock file and caches into its site folder, so it never runs in the
    source tree)."""
    shutil.copy2(HUGO_TEMPLATE / "hugo.toml", site / "hugo.toml")
    remove(site / "layouts")
    shutil.copytree(HUGO_TEMPLATE / "layouts", site / "layouts")


def server_memory_note(python: str, options: list[str], cwd: Path,
                       env: dict[str, str]) -> str:
    """The running build server's memory (with its helper processes), from
    its pid as `server status` gives it."""
    import re
    import subprocess

    import psutil

    status = subprocess.run([python, "-m", "generator", "server", "status", *options],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    found = re.search(r"pid (\d+)", status.stdout)
    if found is None:
        return f"server memory not measured: {status.stdout.strip() or status.stderr.strip()}"
    root = psutil.Process(int(found.group(1)))
    pss = sum(getattr(p.memory_full_info(), "pss", 0)
              for p in [root, *root.children(recursive=True)])
    return (f"warm-up build of the server; after the server rows its process tree "
            f"held {pss / 2**20:.0f} MB PSS (the rows' memory and CPU are the client's; "
            f"the server's CPU shows as others' CPUs)")


def last_line(text: str) -> str:
    """The line of an error that says what went wrong (a traceback's last)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def count_html(root: Path) -> int:
    total = 0
    for _, _, names in os.walk(root):
        total += sum(1 for name in names if name.endswith(".html"))
    return total


def expect_pages(out: Path, n: int) -> str | None:
    pages = count_html(out)
    return None if pages >= n else f"only {pages} .html files for {n} articles"


def read_counts(report: Path) -> dict[str, int] | None:
    try:
        return json.loads(report.read_text(encoding="utf-8")).get("counts")
    except (OSError, ValueError, AttributeError):
        return None


def corpus_facts(paths: corpus_mod.CorpusPaths) -> dict[str, Any]:
    stamp = json.loads((paths.root / corpus_mod.STAMP).read_text(encoding="utf-8"))
    files = list(paths.ours.iterdir())
    return {"digest": stamp.get("digest"), "seed": stamp.get("seed"),
            "source_sentences": stamp.get("sentences"), "files": len(files),
            "bytes": sum(f.stat().st_size for f in files), "root": str(paths.root)}


# -- command line -----------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000",
                        help="comma-separated corpus sizes (default 1000,10000)")
    parser.add_argument("--reps", default="3",
                        help="repetitions per size (default 3); a comma-separated list gives "
                             "one count per size, e.g. --sizes 1000,10000 --reps 3,2")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="seconds before one run is killed (default 1800)")
    parser.add_argument("--work", type=Path, default=BENCH / "work",
                        help="corpora and outputs (default bench/work, git-ignored)")
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    parser.add_argument("--hugo-related", action="store_true",
                        help="give Hugo's article pages 5 related articles (quadratic in N)")
    parser.add_argument("--tools", default="ours,hugo,pelican",
                        help="which to run (comma-separated: ours, hugo, pelican; hugo "
                             "includes Pagefind over Hugo's output)")
    parser.add_argument("--skip-search", action="store_true",
                        help="no cold build with search (Pagefind needs ~0.35 GB per 1,000 "
                             "articles, too much at 100,000)")
    parser.add_argument("--live", action="store_true",
                        help="measure the working tree's generator/ directly instead of a "
                             "copy frozen at start (edits during the run then leak in)")
    args = parser.parse_args(argv)
    args.sizes = _int_list(parser, "--sizes", args.sizes)
    reps = _int_list(parser, "--reps", args.reps)
    # One count per size; a shorter list repeats its last count.
    args.reps = [reps[min(i, len(reps) - 1)] for i in range(len(args.sizes))]
    return args


def _int_list(parser: argparse.ArgumentParser, flag: str, text: str) -> list[int]:
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        parser.error(f"{flag} must be numbers separated by commas, got {text!r}")
    if not values or min(values) < 1:
        parser.error(f"{flag} must be positive")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)  # so a kill still stops the running build
    root = PROJECT if args.live else snapshot_generator(args.work / "generator-snapshot")
    try:
        tools = discover_tools(_project_python(), root)
    except ToolMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    machine = machine_info(tools)
    started = datetime.now().astimezone().isoformat(timespec="seconds")
    command = "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"bench: generator flags {sorted(tools.generator_flags)}; pagefind "
          f"{'yes' if tools.pagefind else 'no'}", flush=True)
    documents = []
    trash = Trash(args.work / "trash")
    if trash.empty(settle=False):
        print("bench: emptied the trash a stopped run left", flush=True)
    trash.settle()  # that emptying, or the one a run just before this one made
    for index, (n, reps) in enumerate(zip(args.sizes, args.reps)):
        print(f"bench: corpus n={n} …", flush=True)
        paths = corpus_mod.ensure_corpus(n, args.work / f"corpus-{n}")
        size = SizeBench(n, paths, tools, args.work, args.timeout, trash, args.hugo_related)
        size.tools_wanted = set(args.tools.split(","))
        size.skip_search = args.skip_search
        size.run(reps)
        trash.empty(settle=index + 1 < len(args.sizes))  # no timed run follows the last
        document = results_document(n, reps, machine, corpus_facts(paths),
                                     size.scenarios, started, size.problems())
        document["command"] = command
        stem = f"{started[:10]}-n{n}"
        write_json(args.results / f"{stem}.json", document, PROJECT)
        (args.results / f"{stem}.md").write_text(markdown(document), encoding="utf-8")
        documents.append(document)
        # Rewritten after every size, so a long run that is stopped still leaves a table.
        (args.results / "latest.md").write_text(combined_markdown(documents, command),
                                                encoding="utf-8")
        print(markdown(document), flush=True)
    return 0


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through run_measured, which kills the child


def _project_python() -> str:
    """The project's virtualenv interpreter (it has the generator installed), else ours."""
    venv = PROJECT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


if __name__ == "__main__":
    sys.exit(main())

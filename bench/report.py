"""Turning runs into results: medians, ratios against Hugo, JSON and Markdown."""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

MB = 1024 * 1024

# Row order and labels of the Markdown table.
LABELS: dict[str, str] = {
    "ours_cold": "ours: cold build (no output, no cache)",
    "ours_noop": "ours: rebuild, nothing changed",
    "ours_add1": "ours: rebuild after adding 1 article",
    "ours_remove1": "ours: rebuild after removing it again",
    "ours_server_start": "ours: `server start` (its warm-up build)",
    "ours_server_noop": "ours, build server running: nothing changed",
    "ours_server_add1": "ours, build server running: adding 1 article",
    "ours_server_remove1": "ours, build server running: removing it again",
    "ours_search": "ours: cold build with search",
    "hugo": "Hugo: build (fresh output)",
    "pagefind": "Pagefind over Hugo's output",
    "pelican": "Pelican: build (fresh output)",
}


@dataclass
class RunRecord:
    """One timed run of one scenario."""

    rep: int
    ok: bool
    wall_s: float
    peak_rss_bytes: int
    max_single_rss_bytes: int
    cpu_s: float
    others_cpu_s: float  # CPU used by other processes on the machine during the run
    html_pages: int
    returncode: int
    timed_out: bool
    report_counts: dict[str, int] | None = None  # ours only: the --report "counts"
    peak_pss_bytes: int = 0  # process tree, shared pages counted once (0: not measured)
    error: str | None = None  # stderr tail (or our own check) when not ok


@dataclass
class Scenario:
    name: str
    command: list[str] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    note: str | None = None

    def ok_runs(self) -> list[RunRecord]:
        return [r for r in self.runs if r.ok]

    def median_wall(self) -> float | None:
        walls = [r.wall_s for r in self.ok_runs()]
        return statistics.median(walls) if walls else None

    def median_rss(self) -> float | None:
        peaks = [r.peak_rss_bytes for r in self.ok_runs()]
        return statistics.median(peaks) if peaks else None

    def median_pss(self) -> float | None:
        peaks = [r.peak_pss_bytes for r in self.ok_runs() if r.peak_pss_bytes]
        return statistics.median(peaks) if peaks else None

    def median_cpu(self) -> float | None:
        cpu = [r.cpu_s for r in self.ok_runs()]
        return statistics.median(cpu) if cpu else None

    def median_noise(self) -> float | None:
        """Median number of CPUs others kept busy during the runs."""
        noise = [r.others_cpu_s / r.wall_s for r in self.ok_runs() if r.wall_s > 0]
        return statistics.median(noise) if noise else None

    def summary(self, hugo: "Scenario | None") -> dict[str, Any]:
        last = self.ok_runs()[-1] if self.ok_runs() else None
        return {
            "label": LABELS.get(self.name, self.name),
            "command": self.command,
            "note": self.note,
            "median_wall_s": _round(self.median_wall()),
            "median_peak_rss_mb": _round(_mb(self.median_rss())),
            "median_peak_pss_mb": _round(_mb(self.median_pss())),
            "median_cpu_s": _round(self.median_cpu()),
            "median_others_cpus": _round(self.median_noise(), 2),
            "html_pages": last.html_pages if last else None,
            "report_counts": last.report_counts if last else None,
            "ratio_wall_vs_hugo": _ratio(self.median_wall(), hugo.median_wall() if hugo else None),
            "ratio_rss_vs_hugo": _ratio(self.median_rss(), hugo.median_rss() if hugo else None),
            # CPU time is far less disturbed than wall time when others load the machine.
            "ratio_cpu_vs_hugo": _ratio(self.median_cpu(), hugo.median_cpu() if hugo else None),
            "ok_runs": len(self.ok_runs()),
            "runs": [asdict(r) for r in self.runs],
        }


def search_ratio(scenarios: Mapping[str, Scenario]) -> dict[str, Any] | None:
    """ours-with-search / (Hugo + Pagefind over Hugo), when all three have numbers."""
    ours = scenarios.get("ours_search") or scenarios.get("ours_cold")
    hugo, pagefind = scenarios.get("hugo"), scenarios.get("pagefind")
    if not (ours and hugo and pagefind):
        return None
    ours_s, hugo_s, pagefind_s = ours.median_wall(), hugo.median_wall(), pagefind.median_wall()
    if ours_s is None or hugo_s is None or pagefind_s is None:
        return None
    cpu = (ours.median_cpu(), hugo.median_cpu(), pagefind.median_cpu())
    cpu_ratio = _ratio(cpu[0], cpu[1] + cpu[2]) if None not in cpu else None  # type: ignore[operator]
    return {"ours_s": _round(ours_s), "hugo_plus_pagefind_s": _round(hugo_s + pagefind_s),
            "ratio": _ratio(ours_s, hugo_s + pagefind_s), "cpu_ratio": cpu_ratio,
            "ours_scenario": ours.name}


def results_document(n: int, reps: int, machine: Mapping[str, Any], corpus: Mapping[str, Any],
                     scenarios: Mapping[str, Scenario], started: str,
                     problems: Mapping[str, Any] | None) -> dict[str, Any]:
    hugo = scenarios.get("hugo")
    return {
        "started": started,
        "n": n,
        "reps": reps,
        "machine": dict(machine),
        "corpus": dict(corpus),
        "scenarios": {name: s.summary(hugo) for name, s in scenarios.items()},
        "search_ratio": search_ratio(scenarios),
        "generator_problems": problems,
    }


def write_json(path: Path, document: Mapping[str, Any], root: Path | None = None) -> None:
    """Write a results document; paths under `root` (the project) are written
    relative to it, so committed results name no folder of the machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if root is not None:
        document = relative_paths(document, f"{root}/")
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def relative_paths(value: Any, prefix: str) -> Any:
    """`value` with every string's occurrences of `prefix` removed."""
    if isinstance(value, str):
        return value.replace(prefix, "")
    if isinstance(value, Mapping):
        return {key: relative_paths(item, prefix) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [relative_paths(item, prefix) for item in value]
    return value


# -- Markdown ---------------------------------------------------------------------------
def machine_line(machine: Mapping[str, Any]) -> str:
    ram = machine.get("ram_bytes") or 0
    hugo = re.search(r"v\d+\.\d+\.\d+", str(machine.get("hugo", "")))
    pagefind = f", Pagefind {machine['pagefind']}" if machine.get("pagefind") else ""
    return (f"Machine: {machine.get('nproc')} CPUs ({machine.get('cpu_model')}), "
            f"{ram / 1024 ** 3:.1f} GiB RAM, Python {machine.get('python')}, "
            f"Hugo {hugo.group(0) if hugo else '?'}, Pelican {machine.get('pelican')}{pagefind}; "
            f"generator sources {machine.get('generator_sources_sha256')}")


def markdown(document: Mapping[str, Any]) -> str:
    """The small table for one N."""
    lines = [f"### N = {document['n']:,} articles ({document['reps']} reps, medians)", "",
             machine_line(document["machine"]), "",
             "| scenario | wall s (median) | runs s | CPU s | peak RSS MB | peak PSS MB | .html "
             "| written / unchanged | × Hugo wall | × Hugo CPU | × Hugo RSS | others' CPUs |",
             "|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for name, s in document["scenarios"].items():
        lines.append(_row(name, s))
    ratio = document.get("search_ratio")
    if ratio:
        lines += ["", f"Search: ours-with-search ({ratio['ours_scenario']}) "
                      f"{ratio['ours_s']} s / (Hugo + Pagefind) {ratio['hugo_plus_pagefind_s']} s"
                      f" = **{ratio['ratio']}×** wall, {ratio.get('cpu_ratio')}× CPU"]
    notes = [f"- {s['label']}: {s['note']}" for s in document["scenarios"].values() if s["note"]]
    notes.append("- peak RSS sums every process of the run, so pages a forked worker shares "
                 "with its parent count once per process; peak PSS splits each shared page "
                 "among its sharers: the memory the run really held")
    notes.append("- others' CPUs: how many of the machine's CPUs other processes kept busy "
                 "during the runs (median); above ~0.3 the wall times are inflated — compare "
                 "CPU s and × Hugo CPU instead")
    problems = document.get("generator_problems")
    if problems and (problems.get("errors") or problems.get("failures")):
        notes.append(f"- generator problems on this corpus: {_problem_text(problems)}")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _row(name: str, s: Mapping[str, Any]) -> str:
    runs = ", ".join(f"{r['wall_s']:.2f}" if r["ok"] else ("timeout" if r["timed_out"]
                                                          else "FAILED") for r in s["runs"])
    counts = s.get("report_counts")
    written = f"{counts.get('written')} / {counts.get('unchanged')}" if counts else ""
    return (f"| {s['label']} | {_fmt(s['median_wall_s'])} | {runs} | "
            f"{_fmt(s['median_cpu_s'])} | {_fmt(s['median_peak_rss_mb'], 0)} | "
            f"{_fmt(s.get('median_peak_pss_mb'), 0)} | "
            f"{_fmt(s['html_pages'], 0)} | {written} | {_fmt(s['ratio_wall_vs_hugo'])} | "
            f"{_fmt(s.get('ratio_cpu_vs_hugo'))} | {_fmt(s['ratio_rss_vs_hugo'])} | "
            f"{_fmt(s['median_others_cpus'], 1)} |")


def _problem_text(problems: Mapping[str, Any]) -> str:
    parts = []
    if problems.get("failures"):
        first = problems["failures"][0]
        parts.append(f"{len(problems['failures'])} failed run(s), first: "
                     f"{first.split(':', 1)[0]}: {_last_line(first)!r}")
    if problems.get("errors"):
        parts.append(f"{problems['errors']} file error(s), e.g. {problems.get('sample')}")
    return "; ".join(parts)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def combined_markdown(documents: Iterable[Mapping[str, Any]], command: str) -> str:
    docs = list(documents)
    head = ["# Benchmark: ours vs Hugo vs Pelican", "",
            f"Run {docs[0]['started'] if docs else ''} with `{command}`. "
            "See bench/README.md for what each row measures.", ""]
    return "\n".join(head) + "\n" + "\n".join(markdown(d) for d in docs)


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _mb(value: float | None) -> float | None:
    return None if value is None else value / MB


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 2)



# -- re-rendering -----------------------------------------------------------------------
def cold_build_note(generator_flags: Iterable[str], searched_separately: bool) -> str | None:
    """What a reader of the cold build's row must know about how it was run.
    (Here, not in run.py, so that the tests need none of the bench's tools.)"""
    flags = set(generator_flags)
    notes = []
    if not searched_separately and "--no-search" not in flags:
        notes.append("the CLI has no --no-search flag, so this build is also the "
                     "'with search' build of the search ratio")
    if "--clean" not in flags:
        notes.append("no --clean flag: output and .cache/ folders were deleted before the run")
    return "; ".join(notes) or None


def rerender(document: Mapping[str, Any]) -> dict[str, Any]:
    """Recompute medians, ratios and the search ratio of a saved results document
    from its runs (after this module's summaries change)."""
    scenarios = {}
    for name, saved in document["scenarios"].items():
        scenario = Scenario(name, list(saved.get("command") or []), note=saved.get("note"))
        scenario.runs = [RunRecord(**run) for run in saved["runs"]]
        scenarios[name] = scenario
    fresh = results_document(document["n"], document["reps"], document["machine"],
                             document["corpus"], scenarios, document["started"],
                             document.get("generator_problems"))
    return {**document, **fresh}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.report RESULTS.json…`: rewrite each JSON's summaries and .md,
    and latest.md (beside the first file) from all of them, e.g. to show sizes that
    were run separately in one table file."""
    import sys
    paths = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    documents = []
    for path in paths:
        document = rerender(json.loads(path.read_text(encoding="utf-8")))
        write_json(path, document)
        path.with_suffix(".md").write_text(markdown(document), encoding="utf-8")
        documents.append(document)
    if documents:
        commands = sorted({str(d.get("command", "python -m bench.run")) for d in documents})
        (paths[0].parent / "latest.md").write_text(
            combined_markdown(documents, "` and `".join(commands)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

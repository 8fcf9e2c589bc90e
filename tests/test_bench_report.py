"""The benchmark's results files are committed: they must name no folder of the machine."""

from __future__ import annotations

import json
from pathlib import Path

from bench.report import write_json
from bench.run import SizeBench
from bench.tools import Tools


def test_results_name_project_paths_relative_to_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    document = {"corpus": {"root": f"{project}/bench/work/corpus-10"},
                "runs": [{"command": [f"{project}/.venv/bin/python", "-m", "generator",
                                      "--content", f"{project}/bench/work/corpus-10/ours"]}],
                "wall_s": 1.5, "elsewhere": "/usr/bin/hugo"}
    target = tmp_path / "results.json"
    write_json(target, document, project)
    written = json.loads(target.read_text(encoding="utf-8"))
    assert str(project) not in target.read_text(encoding="utf-8")
    assert written["corpus"]["root"] == "bench/work/corpus-10"
    assert written["runs"][0]["command"] == [".venv/bin/python", "-m", "generator",
                                             "--content", "bench/work/corpus-10/ours"]
    assert written["wall_s"] == 1.5 and written["elsewhere"] == "/usr/bin/hugo"


def _cold_only_bench(tmp_path: Path, flags: frozenset[str]) -> SizeBench:
    tools = Tools("python", "hugo", False, tmp_path, flags)
    bench = SizeBench(10, None, tools, tmp_path, 60.0)  # type: ignore[arg-type]
    bench.scenario("ours_cold")
    return bench


def test_a_cold_build_run_without_search_is_not_called_the_search_build(
        tmp_path: Path) -> None:
    # --skip-search with a CLI that has --no-search: the cold build had no index.
    bench = _cold_only_bench(tmp_path, frozenset({"--clean", "--no-search"}))
    bench.annotate()
    assert bench.scenarios["ours_cold"].note is None
    # A CLI without the flag always builds the index, so its cold build is that build.
    bench = _cold_only_bench(tmp_path, frozenset({"--clean"}))
    bench.annotate()
    assert "'with search' build" in (bench.scenarios["ours_cold"].note or "")

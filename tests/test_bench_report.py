"""The benchmark's results files are committed: they must name no folder of the machine
and say truly how each row was run."""

from __future__ import annotations

import json
from pathlib import Path

from bench.report import cold_build_note, write_json


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



def test_a_cold_build_run_without_search_is_not_called_the_search_build() -> None:
    # --skip-search with a CLI that has --no-search: the cold build had no index.
    assert cold_build_note({"--clean", "--no-search"}, searched_separately=False) is None
    # A CLI without the flag always builds the index, so its cold build is that build.
    note = cold_build_note({"--clean"}, searched_separately=False)
    assert note is not None and "'with search' build" in note
    assert cold_build_note({"--clean"}, searched_separately=True) is None
    assert "no --clean flag" in (cold_build_note({"--no-search"}, True) or "")

"""The benchmark's results files are committed: they must name no folder of the machine."""

from __future__ import annotations

import json
from pathlib import Path

from bench.report import write_json


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

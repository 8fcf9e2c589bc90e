"""Run one command and measure it: wall time and peak memory of its process tree.

Wall time is taken around the child's whole life (start to reap) with
`time.perf_counter`. Memory is the largest sum of RSS over the child and all
its descendants, sampled with psutil every 20 ms from a side thread — our
generator parses in worker processes, so the RSS of the parent alone would
understate it. Forked workers share most of their pages with the parent, which
a sum of RSS counts once per process; the proportional set size (PSS: each
shared page split among its sharers) is sampled too, and its sum is the tree's
real footprint. `os.wait4` also gives the kernel's ru_maxrss (largest single
process, never summed), kept as a cross-check that sampling missed no spike,
and the CPU time of the run, which other load on the machine disturbs less
than wall time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:
    import psutil


SAMPLE_SECONDS = 0.02
# PSS comes from /proc/<pid>/smaps_rollup, which walks the page tables: every
# 20 ms on gigabyte processes it kept half a CPU busy and slowed the runs it
# measured. Sampled every 0.5 s it costs next to nothing; a peak is a plateau
# of seconds here, not a 20 ms spike.
PSS_SAMPLE_SECONDS = 0.5
TAIL_CHARS = 2000  # how much of stdout/stderr a result keeps


@dataclass(frozen=True)
class Measurement:
    command: tuple[str, ...]
    wall_s: float
    peak_rss_bytes: int  # process tree, sampled
    peak_pss_bytes: int  # process tree, sampled (shared pages counted once)
    max_single_rss_bytes: int  # kernel ru_maxrss of the largest process
    cpu_s: float  # user + system CPU of the process and its reaped children
    others_cpu_s: float  # CPU the rest of the machine used meanwhile (noise indicator)
    returncode: int
    timed_out: bool
    stdout_tail: str
    stderr_tail: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class _TreeSampler(threading.Thread):
    """Polls the RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.peak_pss = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil  # a bench requirement only (see _busy_cpu_s)

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        next_pss = 0.0
        while not self._stop_event.is_set():
            now = time.monotonic()
            with_pss = now >= next_pss
            rss, pss = _tree_memory(root, with_pss)
            self.peak = max(self.peak, rss)
            if with_pss:
                self.peak_pss = max(self.peak_pss, pss)
                next_pss = now + PSS_SAMPLE_SECONDS
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self) -> tuple[int, int]:
        self._stop_event.set()
        self.join()
        return self.peak, self.peak_pss


def _tree_memory(root: psutil.Process, with_pss: bool) -> tuple[int, int]:
    """(sum of RSS, sum of PSS or 0) over the process and its descendants."""
    import psutil

    rss = pss = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:  # the root exited between two samples
        return 0, 0
    for process in processes:
        try:
            if with_pss:
                full = process.memory_full_info()  # /proc/<pid>/smaps_rollup
                rss, pss = rss + full.rss, pss + getattr(full, "pss", full.rss)
            else:
                rss += process.memory_info().rss
        except psutil.Error:  # a worker exited between listing and reading
            continue
    return rss, pss


def run_measured(command: Sequence[str], *, cwd: Path, timeout_s: float,
                 env: Mapping[str, str] | None = None) -> Measurement:
    """Run `command` to completion (or kill its whole group at `timeout_s`)."""
    out_path, err_path = _capture_files(cwd)
    with open(out_path, "w+b") as out, open(err_path, "w+b") as err:
        machine_before = _busy_cpu_s()
        start = time.perf_counter()
        # A new session makes the command a process group we can kill as a whole,
        # workers included, without touching anything else.
        process = subprocess.Popen(list(command), cwd=cwd, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL, env=dict(env) if env else None,
                                   start_new_session=True)
        sampler = _TreeSampler(process.pid)
        sampler.start()
        fired = threading.Event()
        killer = threading.Timer(timeout_s, _on_timeout, args=(process.pid, fired))
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C or SIGTERM: never leave a build running behind us
            killer.cancel()
            _kill_group(process.pid)
            sampler.stop()
            raise
        wall = time.perf_counter() - start
        machine_busy = _busy_cpu_s() - machine_before
        killer.cancel()
        timed_out = fired.is_set()
        peak, peak_pss = sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4 above
        _kill_group(process.pid)  # leftovers (daemonised helpers) must not outlive a run
        cpu = usage.ru_utime + usage.ru_stime
        return Measurement(tuple(command), wall, peak, peak_pss, usage.ru_maxrss * 1024, cpu,
                           max(0.0, machine_busy - cpu), process.returncode, timed_out,
                           _tail(out), _tail(err))


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent not idle, since boot. The machine may
    be shared (other people's builds and tests): what others use during a run is
    this difference minus the run's own CPU time."""
    # psutil is a bench requirement, not a test one: imported where it is
    # used, so that the tests can import the bench's modules without it.
    import psutil

    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0) \
        - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)


def _capture_files(cwd: Path) -> tuple[Path, Path]:
    # Files, not pipes: a chatty child can never block on a full pipe buffer.
    folder = cwd / ".bench-logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "stdout.log", folder / "stderr.log"


def _on_timeout(pid: int, fired: threading.Event) -> None:
    fired.set()
    _kill_group(pid)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(handle) -> str:  # type: ignore[no-untyped-def]
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - TAIL_CHARS * 4))
    return handle.read().decode("utf-8", "replace")[-TAIL_CHARS:]

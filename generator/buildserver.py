"""The build server: a process that stays up between `build` commands for one
settings file and runs the builds they hand it (handoff.py), so that each
reuses what the earlier ones computed, as the watch server's rebuilds do
(README, "Rebuilds in one process").

A build command pays the interpreter's imports (≈0.4 s at 10,000 articles)
and remakes every memo from the cache (decoded outcomes, link state, render
keys: ≈1 s) before it can tell what one new article changes. Here those are
paid once, by the server's warm-up build; a handed-off one-article build
costs the client ≈30 ms and the server what a watch rebuild costs.

It serves one request at a time (the output lock would serialise builds
anyway), in the client's folder and environment, with the client's output
relayed line by line. A build that fails with an unexpected exception is
reported like one run in-process, and then the server stops: its memos may
be half-updated. It also stops when a client's code stamp differs from its
own, after `idle_minutes` without a build (pings do not count), and on
`server stop`.
"""

from __future__ import annotations

import gc
import io
import os
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from generator import handoff

_PROBE_TIMEOUT_S = 5.0  # a busy server answers a ping after its current build
_STOP_TIMEOUT_S = 600.0


@dataclass
class ServerState:
    config: str  # the settings file's real path: the one the server is for
    code: str  # handoff.code_stamp() when the server started
    idle_minutes: float
    started: float = field(default_factory=time.time)
    builds: int = 0
    serving: bool = True
    last_build: float = field(default_factory=time.monotonic)

    def idle_left(self) -> float:
        """Seconds until the server stops unless a build comes (pings do not count)."""
        return self.idle_minutes * 60 - (time.monotonic() - self.last_build)

    def facts(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "config": self.config, "builds": self.builds,
                "started": self.started, "idle_minutes": self.idle_minutes,
                "rss_bytes": _resident_bytes()}


Runner = Callable[[Any], int]  # runs parsed `build` arguments, gives the exit code


def serve_builds(config: str, idle_minutes: float, warm_up: Callable[[], int],
                 parse: Callable[[list[str]], Any], run: Runner) -> int:
    """Listen for `config`'s builds until told to stop or idle. `warm_up`
    is the first build (it fills the memos); `parse` reads a command line
    (argparse: it may raise SystemExit) and `run` runs it."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(handoff.address(config))
    except OSError:
        print(f"error: a build server for {config} is already running", file=sys.stderr)
        return 1
    with listener:
        listener.listen(16)  # clients wait here during the warm-up
        state = ServerState(os.path.realpath(config), handoff.code_stamp(), idle_minutes)
        print(f"build server for {state.config}: warm-up build", flush=True)
        code = warm_up()
        if code == 2:  # the settings or the output folder are wrong: nothing to keep
            return code
        print(f"build server ready (pid {os.getpid()})", flush=True)
        try:
            _serve(listener, state, parse, run)
        except KeyboardInterrupt:  # `server run` in a terminal
            print("build server: interrupted, stopping", flush=True)
    return 0


def _serve(listener: socket.socket, state: ServerState,
           parse: Callable[[list[str]], Any], run: Runner) -> None:
    state.last_build = time.monotonic()
    while state.serving:
        left = state.idle_left()
        if left <= 0:
            print(f"build server: {state.idle_minutes:g} minutes without a build, stopping",
                  flush=True)
            return
        listener.settimeout(left)
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        builds = state.builds
        with connection:
            _answer(connection, state, parse, run)
        if state.builds != builds:
            gc.collect()  # the cycles the build left, after the client has its answer


def _answer(connection: socket.socket, state: ServerState,
            parse: Callable[[list[str]], Any], run: Runner) -> None:
    connection.settimeout(None)
    try:
        if handoff.peer_uid(connection) != os.getuid():
            return  # someone else's process: abstract sockets have no permissions
        request = next(handoff.answers(connection), None)
        if request is None:
            return
        kind = request.get("kind")
        if kind == "ping":
            handoff.send(connection, state.facts())
        elif kind == "stop":
            state.serving = False
            handoff.send(connection, {"stopped": os.getpid()})
        elif kind == "build":
            _run_build_request(connection, request, state, parse, run)
    except (OSError, ValueError) as exc:  # a client gone or garbled: the next one is served
        print(f"build server: a request failed: {exc}", flush=True)


def _run_build_request(connection: socket.socket, request: dict[str, Any],
                       state: ServerState, parse: Callable[[list[str]], Any],
                       run: Runner) -> None:
    if request.get("code") != state.code:
        state.serving = False  # a stale server is of no use to any later build either
        handoff.send(connection, {"refused": "the generator's code changed since the "
                                             "server started"})
        return
    argv, cwd = [str(a) for a in request.get("argv", [])], str(request.get("cwd", ""))
    out, err = _Relay(connection, "out"), _Relay(connection, "err")
    began = time.perf_counter()
    try:
        with _as_client(cwd, request.get("env", {})), redirect_stdout(out), \
                redirect_stderr(err):
            code = _run_parsed(argv, cwd, state, parse, run)
    except FileNotFoundError:  # the client's folder is gone
        code = None
    if code is None:
        handoff.send(connection, {"refused": "not a build of this server's settings file"})
        return
    state.builds += 1
    state.last_build = time.monotonic()
    print(f"build {state.builds}: exit {code} in {time.perf_counter() - began:.2f} s"
          f"{'' if out.connected else ' (the client left)'}", flush=True)
    if out.connected:
        handoff.send(connection, {"exit": code})


def _run_parsed(argv: list[str], cwd: str, state: ServerState,
                parse: Callable[[list[str]], Any], run: Runner) -> int | None:
    """The build's exit code; None when it is not this server's to run."""
    try:
        args = parse(argv)
    except SystemExit as exc:  # argparse said why, on the relayed stderr
        return exc.code if isinstance(exc.code, int) else 2
    config = os.path.realpath(os.path.join(cwd, args.config))
    if args.command != "build" or args.no_server or config != state.config:
        return None
    try:
        return run(args)
    except Exception:  # reported as an in-process build would; the memos may be torn
        traceback.print_exc()
        state.serving = False
        return 1


@contextmanager
def _as_client(cwd: str, env: dict[str, str]) -> Iterator[None]:
    """Run in the client's folder and environment (relative paths, and the
    variables child processes such as Pagefind see), then go back."""
    own_cwd, own_env = os.getcwd(), dict(os.environ)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.chdir(own_cwd)
        os.environ.clear()
        os.environ.update(own_env)


class _Relay(io.TextIOBase):
    """A text stream whose writes go to the client as answers. A client
    that left does not stop the build: its output is dropped."""

    def __init__(self, connection: socket.socket, key: str) -> None:
        super().__init__()
        self._connection, self._key = connection, key
        self.connected = True

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False  # no progress bar through the socket

    def write(self, text: str) -> int:
        if self.connected and text:
            try:
                handoff.send(self._connection, {self._key: text})
            except OSError:
                self.connected = False
        return len(text)


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# -- the `server` command's actions ----------------------------------------------------
def start(config: str, run_argv: list[str], log: Path, timeout_s: float = 3600.0) -> int:
    """Start a server in the background and wait until its warm-up build is
    done; `run_argv` is the `server run` command line."""
    if not handoff.available():
        print("error: the build server needs Linux (abstract Unix sockets)", file=sys.stderr)
        return 2
    running = probe(config)
    if running is not None:
        print(f"a build server for {config} is already running"
              f"{'' if running.get('busy') else ' (pid ' + str(running.get('pid')) + ')'}")
        return 0
    log.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with open(log, "ab") as log_file:
        child = subprocess.Popen([sys.executable, "-m", "generator", *run_argv],
                                 stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                                 start_new_session=True, close_fds=True)
    facts = _wait_ready(config, child, began + timeout_s)
    if facts is None:
        print(f"error: the build server did not start; its log {log} ends with:\n"
              f"{_tail(log)}", file=sys.stderr)
        return 1
    print(f"build server ready for {config} (pid {facts.get('pid')}, warm-up "
          f"{time.monotonic() - began:.1f} s): `build` commands with these settings run "
          f"in it until {facts.get('idle_minutes'):g} minutes pass without one, or "
          f"`server stop`; log: {log}")
    return 0


def _wait_ready(config: str, child: subprocess.Popen[bytes], deadline: float
                ) -> dict[str, Any] | None:
    """The server's facts once it answers (after its warm-up), or None if it
    ended first or the deadline passed."""
    while time.monotonic() < deadline and child.poll() is None:
        facts = handoff.ask(config, "ping", timeout=max(deadline - time.monotonic(), 0.1))
        if facts is not None and facts.get("pid") == child.pid:
            return facts
        time.sleep(0.05)
    return None


def probe(config: str) -> dict[str, Any] | None:
    """The running server's facts, {"busy": True} when it is building, or None."""
    try:
        connection = handoff.connect(config, _PROBE_TIMEOUT_S)
    except OSError:
        return None
    with connection:
        try:
            handoff.send(connection, {"kind": "ping"})
            return next(handoff.answers(connection), None) or {"busy": True}
        except (OSError, ValueError):
            return {"busy": True}


def stop(config: str) -> int:
    answer = handoff.ask(config, "stop", timeout=_STOP_TIMEOUT_S)
    if answer is None:
        print(f"no build server is running for {config}")
        return 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _listening(config):
        time.sleep(0.05)
    print(f"build server for {config} stopped (pid {answer.get('stopped')})")
    return 0


def status(config: str) -> int:
    facts = probe(config)
    if facts is None:
        print(f"no build server is running for {config}")
        return 1
    if facts.get("busy"):
        print(f"a build server for {config} is running and busy with a build")
        return 0
    rss = facts.get("rss_bytes")
    print(f"build server for {facts.get('config')}: pid {facts.get('pid')}, "
          f"{facts.get('builds')} builds since "
          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(facts.get('started', 0)))}, "
          f"{'?' if rss is None else round(rss / 2**20)} MB resident, stops after "
          f"{facts.get('idle_minutes'):g} idle minutes")
    return 0


def _listening(config: str) -> bool:
    try:
        handoff.connect(config, 1.0).close()
    except OSError:
        return False
    return True


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

"""Checking the live generation beside the build, in a helper process.

An incremental build asks the file system two questions about the live
site that nothing the build computes can answer: which of its files were
changed by hand since they were written (their stat no longer matches the
manifest, so the build must not keep them), and which files in it are the
user's own (carried into the next generation). At 10,000 articles that is
≈14,000 stat calls and ≈10,000 folder checks, ≈0.2 s of a watch server's
rebuild, and it depends only on the live generation. So a helper process
answers both on the other core while the build parses and links, and the
build reads the answer where it used to ask.

The helper is forked once per process, at its first build's start, while
the heap is small, and then serves every later build of the process (the
watch server's): it reads the live manifest itself. Forking a fresh child
per build would not do: after a fork every page of the build's heap that
the build then writes to (a reference count is enough) is copied, and at
10,000 articles that cost the build as much as the child saved (≈33,000
extra page faults a rebuild). A thread would not do either: each stat call
gives up the interpreter lock, and a thread that wants it back behind a
busy build waits up to a switch interval (5 ms) for it.

The answer describes the live generation as it was when the build started,
as the build's own checks did a moment later; a file edited by hand after
that is caught by the next build, as before. Whatever goes wrong with the
helper, the build finds the answer itself.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import struct
import threading
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from generator.write import Manifest, _user_files, intact, load_manifest


class Findings(NamedTuple):
    altered: frozenset[str]  # manifest paths whose live file is no longer the one written
    user_files: tuple[str, ...]  # files in the live generation the manifest does not list


def survey(live: Path, manifest: Manifest) -> Findings:
    """Both answers, found in this process."""
    altered = frozenset(rel for rel, entry in manifest.files.items()
                        if not intact(live, rel, entry))
    return Findings(altered, tuple(_user_files(live, manifest)))


class LiveSurvey:
    """One build's question to the helper; findings() is the answer."""

    def __init__(self, live: Path, manifest: Manifest, asked: _Helper | None) -> None:
        self.live, self.manifest = live, manifest
        self._asked = asked
        self._findings: Findings | None = None

    @classmethod
    def start(cls, live: Path, manifest: Manifest) -> LiveSurvey:
        """Ask the helper (starting it if need be); without one, the answer is
        found here when first asked for."""
        helper = _HELPER.claim()
        if helper is not None and not helper.ask(live, manifest.generation):
            _HELPER.release(helper)
            helper = None
        return cls(live, manifest, helper)

    def findings(self) -> Findings:
        """The helper's answer (waiting for it if need be), else the same
        answer found here."""
        if self._findings is None:
            self._findings = self._receive() or survey(self.live, self.manifest)
        return self._findings

    def close(self) -> None:
        """Take the answer off the helper's pipe if no one asked for it (a
        failed build), so that the helper is ready for the next build."""
        self._receive()

    def _receive(self) -> Findings | None:
        helper, self._asked = self._asked, None
        if helper is None:
            return None
        try:
            found = helper.answer()
        finally:
            _HELPER.release(helper)
        if found is None or found[0] != self.manifest.generation:
            return None
        return found[1]


class _Helper:
    """The helper process: requests go down one pipe and answers come back on
    another, each a pickle with its length before it."""

    def __init__(self, pid: int, requests: BinaryIO, answers: BinaryIO) -> None:
        self.pid, self.requests, self.answers = pid, requests, answers
        self.alive = True

    @classmethod
    def fork(cls) -> _Helper | None:
        if not hasattr(os, "fork"):
            return None
        request_read, request_write = os.pipe()
        answer_read, answer_write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (request_read, request_write, answer_read, answer_write):
                os.close(fd)
            return None
        if pid == 0:
            _serve(request_read, answer_write, (request_write, answer_read))
        os.close(request_read)
        os.close(answer_write)
        return cls(pid, os.fdopen(request_write, "wb"), os.fdopen(answer_read, "rb"))

    def ask(self, live: Path, generation: int) -> bool:
        try:
            _send(self.requests, (os.fspath(live), generation))
            return True
        except OSError:
            self.stop()
            return False

    def answer(self) -> tuple[int, Findings] | None:
        try:
            found = _receive(self.answers)
        except (OSError, EOFError, pickle.UnpicklingError, struct.error):
            self.stop()
            return None
        ok = isinstance(found, tuple) and len(found) == 2 and isinstance(found[1], Findings)
        return found if ok else None

    def stop(self) -> None:
        """Forget a helper that failed; the next build forks another."""
        if not self.alive:
            return
        self.alive = False
        for pipe in (self.requests, self.answers):
            try:
                pipe.close()
            except OSError:
                pass
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


class _HelperSlot:
    """This process's helper, lent to one build at a time (a second build
    running at once in another thread finds its answer itself)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._helper: _Helper | None = None
        self._lent = False
        self._owner = os.getpid()

    def ready(self) -> None:
        """Fork the helper now if there is none (see start_helper)."""
        with self._lock:
            self._ready()

    def claim(self) -> _Helper | None:
        with self._lock:
            if self._lent:
                return None
            self._ready()
            self._lent = self._helper is not None
            return self._helper

    def _ready(self) -> None:
        if self._owner != os.getpid():  # a forked copy of this process
            self._helper, self._lent, self._owner = None, False, os.getpid()
        if not self._lent and (self._helper is None or not self._helper.alive):
            self._helper = _Helper.fork()

    def release(self, helper: _Helper) -> None:
        with self._lock:
            if helper is self._helper:
                self._lent = False


_HELPER = _HelperSlot()


def start_helper() -> None:
    """Fork the helper at the start of a build even if this one has no live
    generation to check: a watch server's first build is often a cold one,
    and forking only at its second build would fork the whole site's heap,
    which the helper would then keep (each page the build writes to after
    the fork is copied, and the helper holds the original)."""
    _HELPER.ready()


def _serve(requests: int, answers: int, theirs: tuple[int, int]) -> None:
    """The helper's life: answer each request until the build process is
    gone (its end of the request pipe closes). Never returns."""
    code = 0
    try:
        for fd in theirs:
            os.close(fd)
        _close_inherited({requests, answers})
        gc.freeze()  # what it inherited stays shared with the build process
        gc.enable()
        with os.fdopen(requests, "rb") as incoming, os.fdopen(answers, "wb") as outgoing:
            while True:
                try:
                    live, generation = _receive(incoming)
                except EOFError:
                    break
                _send(outgoing, _answer(Path(live), generation))
    except BaseException:  # Ctrl-C, a build process gone mid-answer: just leave
        code = 1
    finally:
        os._exit(code)


def _answer(live: Path, generation: int) -> tuple[int, Findings] | None:
    try:
        manifest = load_manifest(live)
        if manifest is None or manifest.generation != generation:
            return None
        return generation, survey(live, manifest)
    except OSError:
        return None


def _close_inherited(keep: set[int]) -> None:
    """Close every descriptor the helper inherited but its pipes and the
    standard streams: it must not hold the build's database, lock file or
    server socket open after the build process has let go of them."""
    try:
        inherited = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        inherited = list(range(3, 256))
    for fd in inherited:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _send(pipe: BinaryIO, value: Any) -> None:
    data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    pipe.write(struct.pack("<Q", len(data)) + data)
    pipe.flush()


def _receive(pipe: BinaryIO) -> Any:
    head = pipe.read(8)
    if len(head) < 8:
        raise EOFError("the other end closed the pipe")
    size = struct.unpack("<Q", head)[0]
    data = pipe.read(size)
    if len(data) < size:
        raise EOFError("the other end closed the pipe mid-message")
    return pickle.loads(data)

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

When the spare generation has no manifest (after a cold build, whose only
generation went live), the helper then also makes the spare a copy of the
live generation (write.mirror_generation): ≈14,000 folders and links at
10,000 articles, system time that would otherwise stop the build at its
first changed page. The build keeps its changed pages in memory meanwhile
and waits for the helper only when it claims the spare (SiteWriter._start),
usually at its end; if the helper failed, the build resets the spare and
fills it itself, as before.
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

from generator.write import (Manifest, OutputError, _user_files, intact, load_manifest,
                             mirror_generation)


class Findings(NamedTuple):
    altered: frozenset[str]  # manifest paths whose live file is no longer the one written
    user_files: tuple[str, ...]  # files in the live generation the manifest does not list


def survey(live: Path, manifest: Manifest) -> Findings:
    """Both answers, found in this process."""
    altered = frozenset(rel for rel, entry in manifest.files.items()
                        if not intact(live, rel, entry))
    return Findings(altered, tuple(_user_files(live, manifest)))


class LiveSurvey:
    """One build's question to the helper; findings() is the answer, and
    mirrored() whether the helper also made the spare a copy of the live
    generation (when asked to: see write.mirror_generation)."""

    def __init__(self, live: Path, manifest: Manifest, asked: _Helper | None,
                 mirroring: bool = False) -> None:
        self.live, self.manifest = live, manifest
        self._asked = asked
        # The answers still to be read from the helper, in the order it sends them.
        self._unread = ["findings", "mirror"] if mirroring else ["findings"]
        self._findings: Findings | None = None
        self._mirrored: bool | None = None

    @classmethod
    def start(cls, live: Path, manifest: Manifest, mirror_into: Path | None = None
              ) -> LiveSurvey:
        """Ask the helper (starting it if need be); without one, the answer is
        found here when first asked for, and nothing is mirrored."""
        helper = _HELPER.claim()
        spare = os.fspath(mirror_into) if mirror_into is not None else None
        if helper is not None and not helper.ask(live, manifest.generation, spare):
            _HELPER.release(helper)
            helper = None
        return cls(live, manifest, helper, mirror_into is not None)

    @property
    def mirroring(self) -> bool:
        """The helper was asked to make the spare and mirrored() not yet asked."""
        return "mirror" in self._unread

    def findings(self) -> Findings:
        """The helper's answer (waiting for it if need be), else the same
        answer found here."""
        if self._findings is None:
            found = self._next_answer("findings")
            self._findings = found if isinstance(found, Findings) \
                else survey(self.live, self.manifest)
        return self._findings

    def mirrored(self) -> bool:
        """Whether the spare now is a complete copy of the live generation
        (waiting for the helper to finish it if need be). The build must not
        touch the spare before asking this."""
        if self._mirrored is None:
            self.findings()  # the answer that comes first
            self._mirrored = self._next_answer("mirror") is True
        return self._mirrored

    def close(self) -> None:
        """Take the answers off the helper's pipe if no one asked for them (a
        failed build), so that the helper is ready for the next build and
        done with the spare."""
        self._next_answer("findings")
        self._next_answer("mirror")

    def _next_answer(self, kind: str) -> Any:
        """The helper's answer of this kind if it is the next one unread, else
        None (also when the helper failed or answered for another generation)."""
        helper = self._asked
        if helper is None or not self._unread or self._unread[0] != kind:
            return None
        self._unread.pop(0)
        try:
            found = helper.answer()
        finally:
            if not self._unread or not helper.alive:
                self._unread, self._asked = [], None
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

    def ask(self, live: Path, generation: int, spare: str | None = None) -> bool:
        try:
            _send(self.requests, (os.fspath(live), generation, spare))
            return True
        except OSError:
            self.stop()
            return False

    def answer(self) -> tuple[int, Any] | None:
        try:
            found = _receive(self.answers)
        except (OSError, EOFError, pickle.UnpicklingError, struct.error):
            self.stop()
            return None
        return found if isinstance(found, tuple) and len(found) == 2 else None

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
                    live, generation, spare = _receive(incoming)
                except EOFError:
                    break
                manifest = _live_manifest(Path(live), generation)
                _send(outgoing, _answer(Path(live), manifest))
                if spare is not None:
                    _send(outgoing, (generation, _mirror(Path(live), manifest, Path(spare))))
    except BaseException:  # Ctrl-C, a build process gone mid-answer: just leave
        code = 1
    finally:
        os._exit(code)


def _live_manifest(live: Path, generation: int) -> Manifest | None:
    """The live generation's manifest, if it is the build's (`generation`)."""
    try:
        manifest = load_manifest(live)
    except OSError:
        return None
    return manifest if manifest is not None and manifest.generation == generation else None


def _answer(live: Path, manifest: Manifest | None) -> tuple[int, Findings] | None:
    if manifest is None:
        return None
    try:
        return manifest.generation, survey(live, manifest)
    except OSError:
        return None


def _mirror(live: Path, manifest: Manifest | None, spare: Path) -> bool:
    """Make the spare a copy of the live generation; False if that failed
    (the build then resets the spare and fills it itself)."""
    if manifest is None:
        return False
    try:
        mirror_generation(live, manifest, spare)
        return True
    except (OSError, OutputError):
        return False


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

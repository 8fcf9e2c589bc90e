"""The `build` command's side of the build server (buildserver.py): hand the
build to a running server for the same settings file, or say there is none.

This module runs before anything else in a `build` command, so it imports the
standard library only: a handed-off build's client is the interpreter, this
file and a socket (≈30 ms), instead of the ≈0.4 s of imports a build needs.

The protocol is newline-delimited JSON over a Unix stream socket in Linux's
abstract namespace (no socket file to go stale, no path-length limit). Its
name is derived from the user, the interpreter and the settings file's real
path, so one project's server never serves another's builds, and both sides
check the other's user id (SO_PEERCRED): abstract sockets have no file
permissions.

Requests: {"kind": "build", "argv", "cwd", "env", "code"}, {"kind": "ping"},
{"kind": "stop"}. A build's answers: any number of {"out": text} and
{"err": text}, then {"exit": code} — or a single {"refused": reason} before
anything was printed, after which the command builds in its own process.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import sys
from typing import Any, Iterator, Sequence

DEFAULT_CONFIG = "site.yaml"
_MAX_LINE = 64 * 2**20  # a request carries the environment; answers carry output


def available() -> bool:
    """Abstract Unix sockets and SO_PEERCRED are Linux's."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_PEERCRED")


def address(config: str) -> bytes:
    """The server's socket name for this settings file, user and interpreter."""
    key = "\0".join((str(os.getuid()), sys.executable, os.path.realpath(config)))
    return b"\0ru-ua-timeline-build/" + hashlib.sha256(key.encode()).hexdigest()[:32].encode()


def code_stamp() -> str:
    """What the running code is: the interpreter, every source file of this
    package (name, size, mtime) and the library folders' mtimes (installing
    or removing a package changes them). A server whose stamp differs from
    its client's refuses the build and stops, so an edited or upgraded
    generator never builds with the old code still in memory."""
    package = os.path.dirname(os.path.abspath(__file__))
    parts = [sys.version, sys.executable]
    for folder, subfolders, files in sorted(os.walk(package)):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(folder, name))
                parts.append(f"{os.path.relpath(folder, package)}/{name}:{info.st_size}:"
                             f"{info.st_mtime_ns}")
    for entry in sys.path:
        if entry.endswith("-packages") and os.path.isdir(entry):
            parts.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def build_config(argv: Sequence[str]) -> str | None:
    """The settings file a `build` command names, or None when the command
    is not one to hand off (not a build, --no-server, help). Abbreviated
    options are left to the server, which parses the command fully and
    refuses one that is not for its settings file."""
    if not argv or argv[0] != "build" or any(a in ("-h", "--help", "--no-server") for a in argv):
        return None
    config = DEFAULT_CONFIG
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            config = argv[i + 1]
        elif arg.startswith("--config="):
            config = arg.partition("=")[2]
    return config


def hand_off(argv: Sequence[str]) -> int | None:
    """Run `build` on the project's server: its exit code, or None when no
    server took it (none running, refused, lost before it began)."""
    config = build_config(argv)
    return None if config is None else request_build(config, argv)


def request_build(config: str, argv: Sequence[str]) -> int | None:
    """Ask `config`'s server to run the command line `argv` (see hand_off)."""
    if not available():
        return None
    try:
        connection = connect(config)
    except OSError:
        return None
    with connection:
        return _relay(connection, {"kind": "build", "argv": list(argv), "cwd": os.getcwd(),
                                   "env": dict(os.environ), "code": code_stamp()})


def _relay(connection: socket.socket, request: dict[str, Any]) -> int | None:
    began = False
    for answer in _answers_until_lost(connection, request):
        if "out" in answer or "err" in answer:
            began = True  # writing fails here as a build's own print would
            stream = sys.stdout if "out" in answer else sys.stderr
            stream.write(answer.get("out") or answer.get("err") or "")
        elif "exit" in answer:
            return int(answer["exit"])
        elif "refused" in answer:
            return None
    if began:  # the output so far is the server's; the build runs again here
        print("note: the build server stopped during the build; building in this process",
              file=sys.stderr)
    return None


def _answers_until_lost(connection: socket.socket, request: dict[str, Any]
                        ) -> Iterator[dict[str, Any]]:
    """The answers to `request`, ending early (not raising) if the connection
    is lost or garbled."""
    try:
        send(connection, request)
        yield from answers(connection)
    except (OSError, ValueError):
        return


def connect(config: str, timeout: float | None = None) -> socket.socket:
    """A connection to this settings file's server, whose user is ours
    (OSError when there is none, or it is someone else's)."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.settimeout(timeout)
        connection.connect(address(config))
        if peer_uid(connection) != os.getuid():
            raise PermissionError("the build server's socket belongs to another user")
    except BaseException:
        connection.close()
        raise
    return connection


def ask(config: str, kind: str, timeout: float | None = None) -> dict[str, Any] | None:
    """One answer from the server to a `ping` or `stop`; None without a server."""
    try:
        with connect(config, timeout) as connection:
            send(connection, {"kind": kind})
            return next(answers(connection), None)
    except (OSError, ValueError):
        return None


def peer_uid(connection: socket.socket) -> int:
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                        struct.calcsize("3i"))
    return int(struct.unpack("3i", credentials)[1])


def send(connection: socket.socket, message: dict[str, Any]) -> None:
    connection.sendall(json.dumps(message).encode() + b"\n")  # ASCII: keeps surrogates


def answers(connection: socket.socket) -> Iterator[dict[str, Any]]:
    """The messages arriving on `connection`, one JSON object per line,
    until it closes."""
    with connection.makefile("rb") as reader:
        while line := reader.readline(_MAX_LINE):
            if not line.endswith(b"\n"):
                raise ValueError("a build server message cut short or longer than 64 MB")
            yield json.loads(line)

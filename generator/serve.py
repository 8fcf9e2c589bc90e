"""Local preview: serve the site under its base path, optionally rebuilding on
change and reloading open pages (live reload).

`serve` alone serves the built output as it is. `serve --watch` builds into a
preview folder with a localhost base URL, watches content, templates, static
files and the settings file, batches bursts of changes into one rebuild, and
tells open pages to reload through a server-sent-events endpoint. The reload
script is added to HTML responses by the server only; built files never
contain it.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from generator.config import Config
from generator.urls import Urls

RELOAD_ENDPOINT = "__livereload"
_RELOAD_SCRIPT = (
    "<script>(function(){{var s=new EventSource({endpoint!r});var g=null;"
    "s.onmessage=function(e){{if(g!==null&&e.data!==g){{location.reload();}}g=e.data;}};"
    "}})();</script>"
)


@dataclass
class Generation:
    """A counter bumped after every rebuild; waiting threads are woken."""

    number: int = 0
    condition: threading.Condition = field(default_factory=threading.Condition)
    stopping: bool = False

    def bump(self) -> None:
        with self.condition:
            self.number += 1
            self.condition.notify_all()

    def wait_change(self, seen: int, timeout: float) -> int:
        with self.condition:
            self.condition.wait_for(lambda: self.number != seen or self.stopping, timeout)
            return self.number


class _SubPathHandler(http.server.SimpleHTTPRequestHandler):
    base_path = "/"
    generation: Generation | None = None  # set when live reload is on
    search_dir: str | None = None  # serves <base>/pagefind/ from here when set

    def log_message(self, format: str, *args: object) -> None:
        pass  # a preview server's access log is noise

    def translate_path(self, path: str) -> str:
        # The site is built for base_url's path; strip it so /repo/x maps to public/x.
        plain = path.split("?", 1)[0].split("#", 1)[0]
        index_prefix = self.base_path + "pagefind/"
        if self.search_dir is not None and plain.startswith(index_prefix):
            rest = plain[len(index_prefix):]
            return str(Path(self.search_dir) / Path(rest.lstrip("/")))
        if self.base_path != "/" and plain.startswith(self.base_path):
            path = "/" + path[len(self.base_path):]
        elif self.base_path != "/" and plain == self.base_path.rstrip("/"):
            path = "/"
        return super().translate_path(path)

    def do_GET(self) -> None:
        if self.generation is not None and self.path.split("?")[0] == \
                self.base_path + RELOAD_ENDPOINT:
            self._stream_reloads(self.generation)
            return
        if self.generation is not None and self._is_html():
            self._send_with_reload_script()
            return
        super().do_GET()

    def _is_html(self) -> bool:
        target = Path(self.translate_path(self.path))
        if target.is_dir():
            target = target / "index.html"
        return target.suffix == ".html" and target.is_file()

    def _send_with_reload_script(self) -> None:
        target = Path(self.translate_path(self.path))
        if target.is_dir():
            if not self.path.split("?")[0].endswith("/"):
                super().do_GET()  # let the base class redirect to the slash URL
                return
            target = target / "index.html"
        script = _RELOAD_SCRIPT.format(endpoint=self.base_path + RELOAD_ENDPOINT)
        body = target.read_bytes().replace(b"</body>", script.encode() + b"</body>", 1)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _stream_reloads(self, generation: Generation) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seen = generation.number
        try:
            self.wfile.write(f"data: {seen}\n\n".encode())
            self.wfile.flush()
            while not generation.stopping:
                current = generation.wait_change(seen, timeout=15)
                # A comment line every 15 s keeps proxies from closing the stream.
                line = f"data: {current}\n\n" if current != seen else ": ping\n\n"
                self.wfile.write(line.encode())
                self.wfile.flush()
                seen = current
        except (BrokenPipeError, ConnectionResetError):
            return

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.exists():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().send_error(code, message, explain)


def make_server(output: Path, config: Config, host: str, port: int,
                generation: Generation | None = None,
                search_dir: Path | None = None) -> http.server.ThreadingHTTPServer:
    """An HTTP server for `output` under the base URL's path (not started)."""
    handler = type("Handler", (_SubPathHandler,), {
        "base_path": Urls(config.base_url).base_path, "generation": generation,
        "search_dir": str(search_dir) if search_dir is not None else None})
    bound = functools.partial(handler, directory=str(output))
    server = http.server.ThreadingHTTPServer((host, port), bound)
    server.daemon_threads = True
    return server


def local_config(config: Config, host: str, port: int) -> Config:
    """The same settings with a localhost base URL that keeps the sub-path."""
    return config.with_base_url(f"http://{host}:{port}{Urls(config.base_url).base_path}")


def serve(output: Path, config: Config, host: str, port: int) -> int:
    if not output.is_dir():
        print(f"error: {output} does not exist; run 'python -m generator build' first, "
              "or use 'serve --watch'")
        return 2
    server = make_server(output, config, host, port)
    print(f"serving {output} at {local_config(config, host, port).base_url} (Ctrl-C to stop)")
    return _run(server)


# A rebuild: builds, calls its first argument once the new pages are live,
# and returns a one-line summary. Its second names the paths changed since
# the last rebuild, as the watcher reported them (None: unknown, look at all).
Rebuild = Callable[[Callable[[], None], "frozenset[str] | None"], str]


def serve_watch(rebuild: Rebuild, watched: list[Path], output: Path, config: Config,
                host: str, port: int, debounce_ms: int = 250,
                search_dir: Path | None = None) -> int:
    """Build, serve, and rebuild on every batch of changes to `watched`.

    Pages are rebuilt without the search index; when `search_dir` is given a
    background indexer refreshes it after each rebuild, so new pages are up
    at once and search catches up shortly after."""
    indexer = None
    if search_dir is not None:
        from generator.search import BackgroundIndexer

        indexer = BackgroundIndexer(output, search_dir)
    rebuild_pages = rebuild

    def rebuild_and_index(on_live: Callable[[], None], changed: frozenset[str] | None) -> str:
        summary = rebuild_pages(on_live, changed)
        if indexer is not None:
            indexer.request()
        return summary

    rebuild = rebuild_and_index
    generation = Generation()
    stop, armed = threading.Event(), threading.Event()
    thread = threading.Thread(target=watch_loop, daemon=True,
                              args=(rebuild, watched, generation, stop, debounce_ms, armed))
    thread.start()
    # The first build waits until the watcher listens, so that a file dropped
    # in while the site is being built or served is never missed.
    armed.wait(timeout=30)
    print(rebuild(lambda: None, None))
    server = make_server(output, config, host, port, generation, search_dir)
    print(f"serving {output} at {local_config(config, host, port).base_url} with live reload; "
          f"watching {', '.join(str(p) for p in watched)} (Ctrl-C to stop)")
    try:
        return _run(server)
    finally:
        stop.set()
        generation.stopping = True
        generation.bump()


def watch_loop(rebuild: Rebuild, watched: list[Path], generation: Generation,
               stop: threading.Event, debounce_ms: int,
               armed: threading.Event | None = None) -> None:
    """Rebuild once per batch of file changes (watchfiles groups a burst of
    events within `debounce_ms` into one batch). `armed` is set once the
    watcher listens: its first yield, a batch or an idle tick.

    Open pages are told to reload as soon as the new pages are live, and a
    line says so then; the build's own bookkeeping, which no reader waits
    for, follows, and then its summary."""
    from watchfiles import watch

    existing = [str(p) for p in watched if p.exists()]
    complete = True  # the last rebuild saw every change before this batch
    for changes in watch(*existing, watch_filter=VisibleChanges(existing), debounce=debounce_ms,
                         step=50, stop_event=stop, raise_interrupt=False, yield_on_timeout=True,
                         rust_timeout=200):
        if armed is not None:
            armed.set()
        if stop.is_set():
            return
        if not changes:
            continue  # an idle tick
        started = time.perf_counter()
        went_live = threading.Event()

        def on_live(count: int = len(changes)) -> None:
            generation.bump()
            went_live.set()
            print(f"{count} change(s): pages live after {time.perf_counter() - started:.2f} s",
                  flush=True)

        paths = frozenset(path for _, path in changes)
        try:
            summary = rebuild(on_live, paths if complete else None)
        except Exception as exc:  # a broken template must not kill the preview
            # It may have failed before looking at these paths: the next
            # rebuild looks at every file.
            complete = False
            print(f"rebuild failed: {exc}")
            continue
        complete = True
        if went_live.is_set():
            print(f"  {summary}")
        else:  # nothing changed, or the build went live without saying so
            print(f"{len(changes)} change(s): {summary}")
            generation.bump()


class VisibleChanges:
    """The watcher's filter: every change except those to hidden files and
    folders (an editor's swap files, .git) below a watched path, which the
    build never reads either (see discover). Unlike watchfiles' default
    filter it lets through backup files ("a.md~") and the like, which the
    build does read: a change it reads but the watcher dropped would be
    missed by a rebuild that looks only at the reported paths."""

    def __init__(self, roots: Iterable[str]) -> None:
        self._bases = [os.path.join(os.path.abspath(root), "") for root in roots]
        self._bases += [os.path.join(os.path.realpath(root), "") for root in roots]

    def __call__(self, change: object, path: str) -> bool:
        for base in self._bases:
            if path.startswith(base):
                return not any(part.startswith(".")
                               for part in path[len(base):].split(os.sep))
        return True


def _run(server: http.server.ThreadingHTTPServer) -> int:
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0

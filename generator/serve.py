"""A local preview server that serves the output under the base URL's sub-path."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

from generator.config import Config
from generator.urls import Urls


class _SubPathHandler(http.server.SimpleHTTPRequestHandler):
    base_path = "/"

    def translate_path(self, path: str) -> str:
        # The site is built for base_url's path; strip it so /repo/x maps to public/x.
        if self.base_path != "/" and path.startswith(self.base_path):
            path = "/" + path[len(self.base_path):]
        elif self.base_path != "/" and path.split("?")[0] == self.base_path.rstrip("/"):
            path = "/"
        return super().translate_path(path)

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


def make_server(output: Path, config: Config, host: str, port: int) -> http.server.ThreadingHTTPServer:
    handler = type("Handler", (_SubPathHandler,), {"base_path": Urls(config.base_url).base_path})
    bound = functools.partial(handler, directory=str(output))
    return http.server.ThreadingHTTPServer((host, port), bound)


def serve(output: Path, config: Config, host: str, port: int) -> int:
    if not output.is_dir():
        print(f"error: {output} does not exist; run 'python -m generator build' first")
        return 2
    local = config.with_base_url(f"http://{host}:{port}{Urls(config.base_url).base_path}")
    server = make_server(output, local, host, port)
    print(f"serving {output} at {local.base_url} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0

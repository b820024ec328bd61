"""A local HTTP server in front of a directory laid out like the Clerk's site.

It answers conditional GETs with ETags (as the real site's CDN does) so discover's
If-None-Match path is exercised, and 404s for missing files, as the Clerk does.
"""

from __future__ import annotations

import hashlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    faults: dict[str, int] = {}
    _etag: str | None = None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def send_head(self):  # noqa: ANN201 - stdlib signature
        fault = self.faults.get(self.path)
        if fault:
            self.send_error(fault)
            return None
        path = Path(self.translate_path(self.path))
        if path.is_file():
            stat = path.stat()
            etag = '"' + hashlib.sha1(f"{stat.st_mtime_ns}-{stat.st_size}".encode()).hexdigest()[:16] + '"'  # noqa: S324
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return None
            self._etag = etag
        return super().send_head()

    def end_headers(self) -> None:
        etag = getattr(self, "_etag", None)
        if etag:
            self.send_header("ETag", etag)
            self._etag = None
        super().end_headers()


class MirrorServer:
    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = Path(root)
        # Status codes to answer for given paths: how tests play a flaky or hostile Clerk.
        self.faults: dict[str, int] = {}
        handler = type("MirrorHandler", (_Handler,), {"faults": self.faults})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(self.root)))
        # serve_forever sees a shutdown at its next poll: every 0.5 s by default, which each
        # stack's stop waited out once per mirror.
        self.thread = threading.Thread(target=partial(self.httpd.serve_forever, poll_interval=0.05),
                                       name="clerk-mirror", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MirrorServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

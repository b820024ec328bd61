"""The local stand-in for API Gateway (HTTP API) and for the site's CDN, on 127.0.0.1.

Requests for `/v1/*` and `/openapi.json` become API Gateway HTTP API events (payload
format 2.0) for `services.api.handler.lambda_handler`, exactly as API Gateway would send them;
everything else is served from the site bucket (the website as `publish_api` published it), so
locally the site is served from the same objects as on AWS. It uses the boto3 clients this
process is configured with (the runtime sets AWS_ENDPOINT_URL and the bucket names).

Like API Gateway, it answers requests concurrently: a thread per connection calls the handler,
which serves cached answers concurrently and resolves the others one at a time (see
`services/api/handler.py`: Powertools keeps the current request in a class attribute). Like CloudFront, it serves only what the
distribution would: GET and HEAD (anything else on the site is a 405; on `/v1` API Gateway has
no route for it, a 404), and never the private `api/` prefix of the site bucket (the precomputed
answers and `api/meta.json`, which names the gold bucket): a 403, as the bucket policy gives.
Like an edge, it keeps each site file a few seconds (`EDGE_TTL_S`) instead of reading the bucket
for every request.

`HttpApiWorkers` is API Gateway in front of several Lambda instances: worker processes, each
an `HttpApiServer` with its own handler state (its own response cache, as each instance has), on
one port the kernel shares between them (SO_REUSEPORT). `disclosures up` serves with them; one
process of threads shares one interpreter lock, so a second worker is what lets a busy site use
the second core.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

API_PREFIXES = ("/v1/", "/openapi.json")
PRIVATE_PREFIX = "api/"  # the bucket policy denies CloudFront this prefix
READ_METHODS = ("GET", "HEAD")
EDGE_TTL_S = 5.0  # an edge keeps a site file this long (CloudFront: the file's max-age; short here for development)
EDGE_ENTRIES = 4096
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API's payload limit: larger is refused unread


class LambdaContext:
    """What Powertools reads from a Lambda context."""

    function_name = "api-local"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api-local"
    log_group_name = "/aws/lambda/api-local"
    log_stream_name = "local"

    def __init__(self) -> None:
        self.aws_request_id = uuid.uuid4().hex

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def http_event(
    path: str,
    query: dict[str, str] | str | None = None,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as API Gateway builds it.

    Repeated query parameters are joined with commas in queryStringParameters, as API Gateway does.
    """
    if isinstance(query, str):
        raw_query = query
        pairs = parse_qsl(query, keep_blank_values=True)
    else:
        pairs = list((query or {}).items())
        from urllib.parse import urlencode

        raw_query = urlencode(pairs)
    params: dict[str, str] = {}
    for key, value in pairs:
        params[key] = f"{params[key]},{value}" if key in params else value
    now = datetime.now(UTC)
    request_id = uuid.uuid4().hex[:16]
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    hdrs.setdefault("host", "localhost")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": hdrs["host"],
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": hdrs.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if params:
        event["queryStringParameters"] = params
    if body:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    return event


CORS_PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "accept, if-none-match",
    "Access-Control-Max-Age": "600",
}


def _response_body(response: dict[str, Any]) -> bytes:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode() if isinstance(body, str) else body


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    _headers_buffer: list[bytes]  # BaseHTTPRequestHandler's, written into directly below
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive responses must not wait for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path) or "/"
        try:
            if path.startswith(API_PREFIXES):
                self._api(method, path, parts.query)
            else:
                self._static(method, path)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, status: int, headers: dict[str, str], body: bytes, method: str) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body in one write: one segment for small answers.
        self._headers_buffer.append(b"\r\n")
        payload = b"".join(self._headers_buffer) + (body if method != "HEAD" else b"")
        self._headers_buffer = []
        self.wfile.write(payload)

    def _api(self, method: str, path: str, query: str) -> None:
        from services.api.handler import lambda_handler

        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            # The body is not read, so the connection cannot carry another request.
            self.close_connection = True
            status, message = (413, "Request Entity Too Large") if length > 0 else (400, "Bad Content-Length")
            self._send(status, {"Content-Type": "application/json"}, f'{{"message":"{message}"}}'.encode(), method)
            return
        body = self.rfile.read(length) if length else None
        if method == "OPTIONS":  # a CORS preflight: API Gateway answers it (the HttpApi's CorsConfiguration)
            self._send(204, CORS_PREFLIGHT, b"", method)
            return
        if method not in READ_METHODS:  # the HTTP API has GET routes only
            self._send(404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}', method)
            return
        event = http_event(
            path, query, method=method, headers=dict(self.headers.items()), body=body, source_ip=self.client_address[0],
        )  # fmt: skip
        response = lambda_handler(event, LambdaContext())
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        self._send(int(response.get("statusCode", 200)), headers, _response_body(response), method)

    def _static(self, method: str, path: str) -> None:
        from botocore.exceptions import ClientError

        from services.common.aws import client

        if method not in READ_METHODS:
            self.close_connection = True  # an unread body must not be taken for the next request
            self._send(405, {"Content-Type": "text/plain", "Allow": ", ".join(READ_METHODS)}, b"method not allowed\n", method)
            return
        key = path.lstrip("/")
        if not key or key.endswith("/"):
            key += "index.html"
        if ".." in key.split("/"):
            self._send(400, {"Content-Type": "text/plain"}, b"bad path", method)
            return
        if key.startswith(PRIVATE_PREFIX):
            self._send(403, {"Content-Type": "text/plain"}, b"access denied\n", method)
            return
        found = self.server.edge.get(key)
        if found is None:
            try:
                obj = client("s3").get_object(Bucket=self.server.site_bucket, Key=key)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket"):
                    self._send(404, {"Content-Type": "text/plain; charset=utf-8"}, f"not found: /{key}\n".encode(), method)
                    return
                raise
            headers = {"Content-Type": obj.get("ContentType") or "application/octet-stream"}
            if obj.get("CacheControl"):
                headers["Cache-Control"] = obj["CacheControl"]
            if obj.get("ETag"):
                headers["ETag"] = obj["ETag"]
            found = (headers, obj["Body"].read())
            self.server.edge.put(key, found)
        headers, body = found
        if headers.get("ETag") and headers["ETag"] in (self.headers.get("If-None-Match") or ""):
            self._send(304, {k: v for k, v in headers.items() if k != "Content-Type"}, b"", "HEAD")
            return
        self._send(200, headers, body, method)


class EdgeCache:
    """What a CloudFront edge does for the site's files, briefly: keep each one `ttl_s` seconds
    (an LRU of `size` files), so a burst of visitors does not read the bucket once per request."""

    def __init__(self, ttl_s: float = EDGE_TTL_S, size: int = EDGE_ENTRIES) -> None:
        self.ttl_s, self.size = ttl_s, size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] < time.monotonic():
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    site_bucket: str
    verbose: bool
    edge: EdgeCache


class _SharedPortServer(_Server):
    allow_reuse_port = True  # a worker among others on one port


class HttpApiServer:
    """The API and the website on http://127.0.0.1:<port>/ (port 0: any free port)."""

    def __init__(
        self, port: int = 0, host: str = "127.0.0.1", site_bucket: str | None = None, verbose: bool = False,
        shared_port: bool = False,
    ) -> None:  # fmt: skip
        self._server = (_SharedPortServer if shared_port else _Server)((host, port), _Handler)
        self._server.site_bucket = site_bucket or os.environ.get("SITE_BUCKET", "")
        self._server.verbose = verbose
        self._server.edge = EdgeCache()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpApiServer:
        # Polled often, so that stop() does not wait half a second (the default poll) for it.
        self._thread = threading.Thread(target=partial(self._server.serve_forever, poll_interval=0.05),
                                        name="http-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> HttpApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HttpApiWorkers:
    """The API and the website on http://127.0.0.1:<port>/, served by `workers` processes that
    share the port (see the module's docstring). They take this process's environment (the
    stack's endpoint and buckets) and exit when it dies."""

    def __init__(self, workers: int = 2, port: int = 0, host: str = "127.0.0.1") -> None:
        self.workers, self.host = workers, host
        # Bound, never listening: it holds the port for the workers and takes no connection.
        self._reserved = socket.socket()
        self._reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self._reserved.bind((host, port))
        self._processes: list[BaseProcess] = []

    @property
    def port(self) -> int:
        return int(self._reserved.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 60.0, serve: Callable[..., None] | None = None) -> HttpApiWorkers:
        """Fork the workers from the fork server, which has the heavy libraries imported already,
        and wait until each says it is ready. `serve`: another worker body (for tests)."""
        from infra.local.functions import fork_server

        context = fork_server()
        replies: list[Connection] = []
        for _ in range(self.workers):
            ours, theirs = context.Pipe(duplex=False)
            process = context.Process(target=serve or serve_worker, name="http-api-worker", daemon=True,
                                      args=(self.host, self.port, os.getpid(), dict(os.environ), theirs))
            process.start()
            theirs.close()  # the worker holds the only writing end: its death reads as the end of the pipe
            self._processes.append(process)
            replies.append(ours)
        deadline = time.monotonic() + timeout_s
        for worker, reply in zip(self._processes, replies, strict=True):
            said = ""
            if wait([reply], max(0.0, deadline - time.monotonic())):
                with contextlib.suppress(EOFError):
                    said = reply.recv()
            reply.close()
            if said != "ready":
                self.stop()
                raise RuntimeError(f"an HTTP API worker did not start (exit code {worker.exitcode})")
        return self

    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.is_alive() and p.pid is not None]

    def stop(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        self._processes = []
        self._reserved.close()

    def __enter__(self) -> HttpApiWorkers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_worker(host: str, port: int, parent_pid: int, environment: dict[str, str], ready: Connection) -> None:
    """One worker of `HttpApiWorkers`: the stack's environment, a server on the shared port, the
    API's handler imported before the first request (a Lambda's init phase), then "ready"."""
    from infra.local import preload
    from infra.local.children import exit_with

    os.environ.clear()
    os.environ.update(environment)
    preload.share_loader()
    exit_with(parent_pid, lambda: os._exit(0))  # the fork server is our parent, and outlives the stack
    HttpApiServer(port, host, shared_port=True).start()
    import services.api.handler  # noqa: F401

    ready.send("ready")
    ready.close()
    threading.Event().wait()  # serve until stopped


def main() -> None:
    """A server of its own, to try by hand."""
    parser = argparse.ArgumentParser(description="The local API and website")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = HttpApiServer(args.port, args.host).start()
    print(f"website: {server.url}/\nAPI:     {server.url}/v1/summary\nOpenAPI: {server.url}/openapi.json", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()

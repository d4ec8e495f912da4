"""Local stand-ins for SendGrid, Twilio and FCM (and Google's OAuth token endpoint), for tests and the benchmark.

One threading HTTP server on 127.0.0.1 answers all four APIs the way the real
ones do for the calls we make, records every request (method, path, headers,
parsed body) and can be told to answer a route's next requests with an error
status (429 with Retry-After, 500, 400) or to sleep past the client's timeout.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from queue import SimpleQueue
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SENDGRID = "sendgrid"
TWILIO = "twilio"
FCM = "fcm"
TOKEN = "token"

_ROUTES = [
    (SENDGRID, re.compile(r"^/v3/mail/send$")),
    (TWILIO, re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")),
    (FCM, re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")),
    (TOKEN, re.compile(r"^/token$")),
]


class _Server(ThreadingHTTPServer):
    """A threading HTTP server whose handler threads, once started, stay for the next connections.

    `ThreadingHTTPServer` starts a thread per connection, and `Thread.start` waits until the new
    thread runs. SendGrid's SDK opens a connection per request, so the accepting thread waited for
    a new thread to get the GIL once per email: with the bench's 8 sending threads in the same
    process, that held raw email sends 16% below what the SDK does (bench/RESULTS.md). Here a
    connection goes to an idle handler thread if there is one, and a new thread is started only
    when all are busy (kept-alive connections, a fault's `delay`), so every connection is served.
    """

    request_queue_size = 128
    """The listen() backlog. The default, 5, overflows when a worker's 8 activity threads connect at
    once: the kernel drops the extra SYNs and each of those clients waits 1 s to retransmit."""

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: SimpleQueue[tuple[Any, Any] | None] = SimpleQueue()
        self._pool_lock = threading.Lock()
        self._idle = 0
        self._handlers = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._pool_lock:
            if self._idle:
                self._idle -= 1
                self._connections.put((request, client_address))
                return
            self._handlers += 1
        threading.Thread(target=self._serve, args=((request, client_address),), daemon=True).start()

    def _serve(self, connection: tuple[Any, Any] | None) -> None:
        while connection is not None:
            request, client_address = connection
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)
            with self._pool_lock:
                self._idle += 1
            connection = self._connections.get()

    def server_close(self) -> None:
        super().server_close()
        with self._pool_lock:
            handlers = self._handlers
        for _ in range(handlers):
            self._connections.put(None)  # each handler thread ends when it takes one


@dataclass(frozen=True)
class Recorded:
    route: str
    method: str
    path: str
    headers: dict[str, str]
    """Names lower-cased."""
    body: Any
    """JSON bodies parsed; form bodies as {name: value} (single values)."""


@dataclass
class Fault:
    status: int = 0
    """HTTP status to answer with (0: answer normally after `delay`)."""
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to sleep before answering: past the client's timeout, it is a timeout."""


class FakeProviders:
    """`with FakeProviders() as fake:` then point the providers at `fake.url`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.unregistered_tokens: set[str] = set()
        self.on_request: Callable[[Recorded], None] | None = None
        """Called with each request once recorded, before it is answered: what the sender's side looks like meanwhile."""
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-providers", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeProviders:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, route: str, *faults: Fault) -> None:
        """Answer the next len(faults) requests of `route` with these faults, in order."""
        with self._lock:
            self._faults.setdefault(route, deque()).extend(faults)

    def sent(self, route: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.route == route]

    def clear(self) -> None:
        """Forget the recorded requests and any faults not yet served."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def _next_id(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _take_fault(self, route: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(route)
            return queue.popleft() if queue else None

    def _record(self, recorded: Recorded) -> None:
        with self._lock:
            self.requests.append(recorded)

    def answer(self, route: str, match: re.Match[str], body: Any) -> tuple[int, dict[str, str], Any]:
        """The normal answer of each API."""
        n = self._next_id()
        if route == SENDGRID:
            return 202, {"X-Message-Id": f"sg-{n}"}, None
        if route == TWILIO:
            sid = f"SM{n:032x}"
            return 201, {}, {"sid": sid, "account_sid": match["sid"], "status": "queued", "to": body.get("To"), "body": body.get("Body")}
        if route == FCM:
            token = body["message"]["token"]
            if token in self.unregistered_tokens:
                details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]
                error = {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND", "details": details}
                return 404, {}, {"error": error}
            return 200, {}, {"name": f"projects/{match['project']}/messages/{n}"}
        return 200, {}, {"access_token": "fake-access-token", "expires_in": 3600, "token_type": "Bearer"}


def _handler(fake: FakeProviders) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        """TCP_NODELAY, as real API front ends set it: a reply goes out as two writes (headers, then body), and on a
        kept-alive connection Nagle held the body until the client's delayed ACK, 40 ms later, for every request."""

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?", 1)[0]
            route, match = next(((name, m) for name, pattern in _ROUTES if (m := pattern.match(path))), ("", None))
            if match is None:
                self._reply(404, {}, {"error": f"no fake for {path}"})
                return
            if "json" in (self.headers.get("Content-Type") or ""):
                body: Any = json.loads(raw or b"null")
            else:
                body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            recorded = Recorded(route, "POST", path, {k.lower(): v for k, v in self.headers.items()}, body)
            fake._record(recorded)
            if fake.on_request is not None:
                fake.on_request(recorded)
            fault = fake._take_fault(route)
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.status:
                    self._reply(fault.status, fault.headers, fault.body)
                    return
            self._reply(*fake.answer(route, match, body))

        def _reply(self, status: int, headers: dict[str, str], body: Any) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and went away

    return Handler


def service_account(token_uri: str, project_id: str = "journey-test") -> dict[str, str]:
    """A service-account JSON key made here, with a fresh RSA key and its token endpoint on the fake."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": "fake-key-1",
        "private_key": pem,
        "client_email": f"journeys@{project_id}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }

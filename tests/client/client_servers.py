"""Real local servers for the client tests: a scripted stand-in for QStash's publish endpoint,
sockets that reset or never answer, and a Starlette app receiving jobs through `JobReceiver`."""

from __future__ import annotations

import socket
import struct
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_qstash.serving import ServerThread
from qstash_emulator.core.model import SigningKeys
from qstash_queue.receiving import Delivery, JobReceiver
from qstash_queue.status import MemoryStatusStore, StatusStore


@dataclass
class Answer:
    """One scripted answer of the stand-in."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        if self.status == 200:
            return JSONResponse({"messageId": f"msg_{uuid.uuid4().hex}"})
        return JSONResponse({"error": "scripted"}, self.status, headers=self.headers)


QUOTA = Answer(429, {"RateLimit-Limit": "3", "RateLimit-Remaining": "0",
                     "RateLimit-Reset": "1767225600"})
BURST = Answer(429, {"Burst-RateLimit-Limit": "5", "Burst-RateLimit-Remaining": "0",
                     "Burst-RateLimit-Reset": "1767225600"})
OK = Answer(200)


class ScriptedQStash:
    """Answers `POST /v2/publish/...` with scripted answers (the last one repeats)."""

    def __init__(self) -> None:
        self.answers: list[Answer] = [OK]
        self.publishes = 0
        self._lock = threading.Lock()
        routes = [Route("/v2/publish/{rest:path}", self._publish, methods=["POST"])]
        self._server = ServerThread(Starlette(routes=routes), lifespan="off")

    @property
    def url(self) -> str:
        return self._server.url

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self.answers = list(answers)

    async def _publish(self, request: Request) -> Response:
        with self._lock:
            answer = self.answers[0] if len(self.answers) == 1 else self.answers.pop(0)
            self.publishes += 1
        return answer.response()

    def __enter__(self) -> ScriptedQStash:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()


class RawServer:
    """A TCP server that resets every connection (`mode="reset"`) or never answers (`"hang"`)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.mode == "reset":
                conn.recv(65536)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            else:
                self._held.append(conn)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class ReceivingApp:
    """A Starlette app whose `/jobs` route runs a counting handler through `JobReceiver`, and
    whose `/jobs/failed` route takes QStash's failure callbacks.

    `fail_first` makes the handler raise on the first run of each job, `fail_always` on every.
    """

    def __init__(
        self, keys: SigningKeys, *, status_store: StatusStore | None = None,
        idempotency: Any = None, fail_first: bool = False, fail_always: bool = False,
    ) -> None:
        self.status_store = status_store or MemoryStatusStore()
        self.receiver = JobReceiver(keys.current, keys.next, status_store=self.status_store,
                                    idempotency=idempotency)
        self.runs: Counter[str] = Counter()
        self.fail_first, self.fail_always = fail_first, fail_always
        self._lock = threading.Lock()
        app = Starlette(routes=[
            Route("/jobs", self.receiver.starlette(self.handle), methods=["POST"]),
            Route("/jobs/failed", self.receiver.failure_callback_starlette(), methods=["POST"]),
        ])
        self._server = ServerThread(app, lifespan="off")

    def handle(self, delivery: Delivery) -> dict[str, Any]:
        job = delivery.job_id or delivery.message_id or "?"
        with self._lock:
            self.runs[job] += 1
            run = self.runs[job]
        if self.fail_always or (self.fail_first and run == 1):
            raise RuntimeError("first run fails" if run == 1 else f"run {run} fails")
        return {"job": job, "run": run, "payload": delivery.json()}

    @property
    def url(self) -> str:
        return self._server.url + "/jobs"

    @property
    def failure_url(self) -> str:
        return self._server.url + "/jobs/failed"

    def __enter__(self) -> ReceivingApp:
        self._server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.stop()

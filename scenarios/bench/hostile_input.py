"""Hostile input against a real `qstash-emulator` process: what it reads, answers and keeps.

    python -m scenarios.bench.hostile_input [--body-mb 300] [--batch 100000]

Starts the emulator (virtual clock, memory store, its own uvicorn protocol) and sends: a
chunked body far past `--max-body-bytes`, a batch of `--batch` elements, 10,000 headers, one
1 MB header, a 1 MB `Upstash-Forward-*` header, a malformed request, and NaN / 1e12 clock
moves. For each: the status and content type of the answer, the time to it, how many bytes were
sent before it, and the emulator's resident memory (RSS) before and after.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from qstash_emulator.core.tenants import DEFAULT_TOKEN

from .processes import free_port, running

AUTH = f"Authorization: Bearer {DEFAULT_TOKEN}\r\n"
PUBLISH = "/v2/publish/http://127.0.0.1:9/x"
MB = 1024 * 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def exchange(port: int, head: bytes, chunks: Callable[[], bytes | None]) -> tuple[str, int]:
    """Send `head`, then `chunks()` until it gives None or an answer arrives; the answer's
    first line and content type, and the bytes sent."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sent += len(head)
        while not select.select([sock], [], [], 0)[0] and (chunk := chunks()) is not None:
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
        try:
            answer = sock.recv(65536).decode(errors="replace")
        except TimeoutError:
            return "no answer within 30 s", sent
    status = answer.split("\r\n", 1)[0]
    kind = next((line.split(":", 1)[1].strip() for line in answer.split("\r\n")
                 if line.lower().startswith("content-type:")), "-")
    return f"{status} ({kind})", sent


def chunked(total: int) -> Callable[[], bytes | None]:
    piece = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
    left = [total // (64 * 1024)]

    def next_chunk() -> bytes | None:
        if left[0] == 0:
            return None
        left[0] -= 1
        return piece if left[0] else piece + b"0\r\n\r\n"
    return next_chunk


def request(method: str, path: str, headers: str = "", body: bytes = b"") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\n{AUTH}{headers}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def cases(body_mb: int, batch: int) -> dict[str, tuple[bytes, Callable[[], bytes | None]]]:
    elements = json.dumps([{"destination": "http://127.0.0.1:9/x", "headers": {},
                            "body": "x"}] * batch).encode()
    nothing: Callable[[], bytes | None] = lambda: None  # noqa: E731
    return {
        f"chunked body of {body_mb} MB (limit 10 MB)": (
            f"POST {PUBLISH} HTTP/1.1\r\nHost: x\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\n"
            .encode(), chunked(body_mb * MB)),
        f"batch of {batch:,} messages": (request("POST", "/v2/batch", body=elements), nothing),
        "10,000 headers": (request("POST", PUBLISH, "".join(
            f"X-H{i}: v\r\n" for i in range(10_000)), b"x"), nothing),
        "one 1 MB header": (request("POST", PUBLISH, f"X-Big: {'v' * MB}\r\n", b"x"), nothing),
        "60 KB Upstash-Forward-X header": (request(
            "POST", PUBLISH, f"Upstash-Forward-X: {'v' * 60_000}\r\n", b"x"), nothing),
        "malformed request line": (b"GARBAGE\r\n\r\n", nothing),
        "clock advance NaN": (request("POST", "/__emulator__/clock/advance",
                                      body=b'{"seconds": NaN}'), nothing),
        "clock advance 1e12 s": (request("POST", "/__emulator__/clock/advance",
                                         body=b'{"seconds": 1e12}'), nothing),
        "fault duplicate_after_s NaN": (request(
            "POST", "/__emulator__/faults",
            body=b'{"match": "http://127.0.0.1:9/", "duplicate_after_s": NaN}'), nothing),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--body-mb", type=int, default=300)
    parser.add_argument("--batch", type=int, default=100_000)
    args = parser.parse_args(argv)
    port = free_port()
    command = [sys.executable, "-m", "qstash_emulator", "--port", str(port), "--clock",
               "virtual"]
    with running(command) as emulator:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/__emulator__/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)  # waiting for a process to start: real time by nature
        for name, (head, rest) in cases(args.body_mb, args.batch).items():
            before = rss_mb(emulator.pid)
            started = time.perf_counter()
            answer, sent = exchange(port, head, rest)
            took_ms = (time.perf_counter() - started) * 1000
            print(f"{name}: {answer} in {took_ms:.0f} ms after {sent / MB:.1f} MB sent; "
                  f"emulator RSS {before:.0f} -> {rss_mb(emulator.pid):.0f} MB")
        alive = httpx.post(f"http://127.0.0.1:{port}{PUBLISH}", content=b"x",
                           headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
        print(f"a publish afterwards: {alive.status_code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

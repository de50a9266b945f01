"""Rough spine benchmark: publishes/s and end-to-end deliveries/s on this machine.

Starts the emulator (`python -m qstash_emulator`) and a counting destination as separate
processes on loopback, publishes N messages from 64 concurrent aiohttp connections, then waits
until the destination has seen them all. Prints figures; asserts nothing. Run on demand:

    python scenarios/bench_publish.py --messages 20000
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time

import aiohttp

TOKEN = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0="
DESTINATION = """
import uvicorn
count = 0
async def app(scope, receive, send):
    global count
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["method"] == "POST":
        count += 1
    body = str(count).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_up(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            async with session.get(url) as response:
                await response.read()
                return
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def publish_all(base: str, target: str, total: int, concurrency: int) -> float:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for i in counter:
                async with session.post(f"{base}/v2/publish/{target}", headers=headers,
                                        data=f'{{"i": {i}}}') as response:
                    await response.read()
                    assert response.status == 200, response.status

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


async def delivered(session: aiohttp.ClientSession, count_url: str) -> int:
    async with session.get(count_url) as response:
        return int(await response.text())


async def run(total: int, concurrency: int) -> None:
    emulator_port, destination_port = free_port(), free_port()
    processes = [
        subprocess.Popen([sys.executable, "-m", "qstash_emulator", "--port", str(emulator_port)],
                         stdout=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-c", DESTINATION, str(destination_port)]),
    ]
    base = f"http://127.0.0.1:{emulator_port}"
    count_url = f"http://127.0.0.1:{destination_port}/count"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_up(session, f"{base}/__emulator__/health")
            await wait_up(session, count_url)
            start = time.perf_counter()
            publish_s = await publish_all(base, f"http://127.0.0.1:{destination_port}/hook",
                                          total, concurrency)
            during = await delivered(session, count_url)
            while await delivered(session, count_url) < total:
                await asyncio.sleep(0.02)
            total_s = time.perf_counter() - start
        print(f"messages           {total}")
        print(f"publish            {total / publish_s:8.0f} msg/s ({concurrency} connections)")
        print(f"end-to-end         {total / total_s:8.0f} deliveries/s (publish + delivery)")
        print(f"delivered while publishing was still running: {during / total:.0%}")
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.concurrency))


if __name__ == "__main__":
    main()

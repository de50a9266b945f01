"""A fallback worker process for the crash test (run as a script, not collected by pytest).

`python fallback_worker.py REDIS_URL PREFIX CURRENT_KEY NEXT_KEY LEASE_S` delivers jobs from the
Redis fallback queue `PREFIX` until SIGTERM, printing its counters as one JSON line every 50 ms
(so a test still knows what a worker killed with SIGKILL had done), then a last line after a
graceful close.
"""

from __future__ import annotations

import json
import signal
import sys
import threading

from qstash_queue import MemoryOptions, RedisFallback, RedisStatusStore, RequestQueue


def main(redis_url: str, prefix: str, current: str, following: str, lease_s: str) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    store = RedisStatusStore(redis_url, prefix=prefix)
    queue = RequestQueue(
        use_qstash=False, status_store=store, signing_keys=(current, following),
        fallback_store=RedisFallback(redis_url, prefix=prefix, lease_s=float(lease_s)),
        memory=MemoryOptions(concurrency=8),
    )
    print(json.dumps({"ready": True}), flush=True)
    while not stop.wait(0.05):
        print(json.dumps(queue.stats()), flush=True)
    queue.close(timeout=10)
    print(json.dumps({**queue.stats(), "final": True}), flush=True)
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:6])

"""Crash test of the Redis fallback queue: two worker processes share one queue, one is killed
with SIGKILL mid-burst and restarted; every accepted job is delivered at least once.

The figures (jobs, lost, duplicates, entries claimed after the lease, time) are printed; run
with `-s` to see them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pytest_qstash import Endpoint
from qstash_emulator.core.model import SigningKeys
from qstash_queue import JobState, RedisFallback, RedisStatusStore, RequestQueue

WORKER = Path(__file__).with_name("fallback_worker.py")
JOBS = int(os.environ.get("QSTASH_CRASH_JOBS", "600"))  # more for a longer run
LEASE_S = 1.0


class Worker:
    """A `fallback_worker.py` process and the counters it printed last."""

    def __init__(self, redis_url: str, prefix: str, keys: SigningKeys) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), redis_url, prefix, keys.current, keys.next,
             str(LEASE_S)],
            stdout=subprocess.PIPE, text=True, env=os.environ | {"PYTHONUNBUFFERED": "1"})
        self.last: dict[str, Any] = {}
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        assert self._ready.wait(30), "the worker did not start"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.last = json.loads(line)
            self._ready.set()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> dict[str, Any]:
        self.process.terminate()
        self.process.wait(30)
        self._reader.join(10)  # the output ends with the process: the last line is read
        return self.last


def test_a_worker_killed_mid_burst_loses_no_job(
    redis_url: str, prefix: str, keys: SigningKeys, endpoint: Endpoint,
) -> None:
    endpoint.delay(0.01)
    store = RedisStatusStore(redis_url, prefix=prefix)
    workers = [Worker(redis_url, prefix, keys), Worker(redis_url, prefix, keys)]
    producer = RequestQueue(use_qstash=False, status_store=store,
                            fallback_store=RedisFallback(redis_url, prefix=prefix, worker=False))
    started = time.monotonic()
    accepted: list[str] = []

    def burst() -> None:
        for n in range(JOBS):
            accepted.append(producer.enqueue(f"job-{n}", endpoint=endpoint.url_for("/crash"),
                                             payload={"n": n}).job_id)

    sender = threading.Thread(target=burst)
    sender.start()
    endpoint.wait_for(JOBS // 4, timeout=60)
    killed = workers[0]
    killed.kill()
    killed_stats = killed.last
    restarted = Worker(redis_url, prefix, keys)
    sender.join()
    statuses = [producer.wait(job_id, timeout=60) for job_id in accepted]
    elapsed = time.monotonic() - started
    finals = [workers[1].stop(), restarted.stop()]
    producer.close()
    store.close()

    delivered = [r.header("x-queue-job-id") for r in endpoint.requests]
    distinct = set(delivered)
    lost = len(set(accepted) - distinct)
    duplicates = len(delivered) - len(distinct)
    claimed = sum(final.get("redis_claimed", 0) for final in finals)
    print(f"\nredis fallback crash test: jobs={len(accepted)} lost={lost} "
          f"duplicates={duplicates} claimed_after_lease={claimed} "
          f"killed_worker_delivered={killed_stats.get('redis_delivered')} "
          f"time={elapsed:.2f}s")
    assert len(accepted) == JOBS and lost == 0
    assert {s.state for s in statuses} == {JobState.DELIVERED}
    assert killed_stats.get("redis_delivered", 0) > 0  # both processes shared the burst
    assert finals[0]["redis_delivered"] > 0 and finals[0]["final"]
    assert claimed > 0  # what the killed worker held was taken over after the lease
    assert duplicates <= claimed  # only a taken-over entry can be delivered twice

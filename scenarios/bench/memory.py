"""Resident memory of pending messages in the memory store, measured in a fresh process.

Publishes N messages of a 200-byte body, each delayed a day (so all stay pending), through the
service in process (memory store, virtual clock), then prints the resident set size (RSS)
before and after, and the cost per message beyond its body.

    python -m scenarios.bench.memory                      # 1,000,000 messages (target < 1.5 GB)
    python -m scenarios.bench.memory --messages 100000
"""

from __future__ import annotations

import argparse
import gc
import os
import time

from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.messages.publish import PublishRequest

BODY_BYTES = 200
TENANT = "bench"


def rss_bytes() -> int:
    """This process's resident set size now (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fill(count: int) -> tuple[int, int, float]:
    """(RSS before, RSS after, seconds) for `count` pending messages."""
    emulator = Emulator(Settings(clock="virtual", tokens=(TENANT,)), clock=VirtualClock())
    headers = {"upstash-delay": "1d", "content-type": "application/json"}
    url = "http://127.0.0.1:9/hook"
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    for i in range(count):
        body = b'{"n":%10d,"pad":"' % i + b"x" * (BODY_BYTES - 22) + b'"}'
        emulator.service.publish(TENANT, PublishRequest(url, headers, body), None)
    seconds = time.perf_counter() - started
    gc.collect()
    after = rss_bytes()
    assert emulator.store.messages.next_due_ms() is not None
    return before, after, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    count = parser.parse_args().messages
    gc.freeze()  # as the command line does: long-lived objects out of the collector's scans
    before, after, seconds = fill(count)
    per_message = (after - before) / count
    print(f"{count:,} pending messages of {BODY_BYTES} bytes: RSS {before / 2**20:,.0f} MB -> "
          f"{after / 2**20:,.0f} MB (+{(after - before) / 2**20:,.0f} MB), "
          f"{per_message:,.0f} bytes each, {per_message - BODY_BYTES:,.0f} beyond the body; "
          f"published in {seconds:.1f} s")


if __name__ == "__main__":
    main()

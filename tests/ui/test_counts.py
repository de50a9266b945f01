"""The dashboard reads a tenant's counters once per refresh window, whatever the pages open."""

from __future__ import annotations

from qstash_emulator.core.model import MessageCounts
from qstash_emulator.ui.counts import FRESH_S, CountsCache


class Reads:
    def __init__(self) -> None:
        self.tenants: list[str] = []

    def __call__(self, tenant: str) -> MessageCounts:
        self.tenants.append(tenant)
        return MessageCounts(len(self.tenants), 0, {})


def test_a_read_serves_its_tenant_for_the_window_then_is_made_again() -> None:
    reads, now = Reads(), [100.0]
    cache = CountsCache(reads, lambda: now[0])
    first = cache.counts("a")
    now[0] += FRESH_S / 2
    assert cache.counts("a") is first  # the page fetched after the stream's look
    assert cache.counts("b").unfinished == 2  # each tenant its own
    now[0] += FRESH_S  # the stream's next look, a second later, reads afresh
    assert cache.counts("a").unfinished == 3
    assert reads.tenants == ["a", "b", "a"]


def test_after_an_action_the_counters_are_read_again() -> None:
    reads = Reads()
    cache = CountsCache(reads, lambda: 5.0)
    cache.counts("a")
    cache.forget("a")
    cache.forget("never-read")
    assert cache.counts("a").unfinished == 2


def test_a_clock_that_went_back_does_not_keep_a_read_forever() -> None:
    reads, now = Reads(), [100.0]
    cache = CountsCache(reads, lambda: now[0])
    cache.counts("a")
    now[0] = 50.0
    assert cache.counts("a").unfinished == 2

"""Plans as data, quota windows on the emulator clock, checks, charges and the burst limit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qstash_emulator.clocks import VirtualClock
from qstash_emulator.core import protocol as p
from qstash_emulator.core.errors import BadRequest, BurstLimited, QuotaExceeded
from qstash_emulator.core.harness.quotas import (
    SETTINGS_CACHE_S,
    Quotas,
    Window,
    burst_limited,
    window_reset_s,
)
from qstash_emulator.core.plans import PLANS, Plans, parse_changes
from qstash_emulator.storage.memory import MemoryStore
from qstash_emulator.storage.memory.usage import MemoryUsage


def make_quotas(
    clock: VirtualClock, plan: str = "payg", overrides: dict[str, int | None] | None = None,
    book: MemoryUsage | None = None,
) -> Quotas:
    """Quotas over a plan lookup, both on `book` (a fresh memory store's by default)."""
    book = book or MemoryStore().usage
    return Quotas(clock, Plans(book, clock.wall, plan, overrides), book)


def ts(*args: int) -> int:
    """Unix milliseconds of a UTC date-time."""
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_plans_carry_the_fact_sheet_figures() -> None:
    free, payg = PLANS["free"], PLANS["payg"]
    assert (free.daily, free.max_body_bytes, free.max_delay_s, free.max_retries) == (
        1000, 1024**2, 7 * 86400, 3)
    assert (free.max_timeout_s, free.queues, free.schedules, free.parallelism) == (900, 10, 10, 2)
    assert (payg.daily, payg.max_body_bytes, payg.max_delay_s, payg.max_retries) == (
        None, 10 * 1024**2, 365 * 86400, 5)
    assert (payg.max_timeout_s, payg.queues, payg.schedules, payg.parallelism) == (
        7200, 100, 1000, 100)
    assert PLANS["fixed-1m"].daily == 1_000_000 and PLANS["fixed-10m"].daily == 10_000_000
    assert (PLANS["fixed-1m"].parallelism, PLANS["fixed-10m"].parallelism) == (200, 1000)
    assert PLANS["fixed-10m"].max_delay_s is None
    unlimited = PLANS["unlimited"]
    assert all(getattr(unlimited, name) is None for name in ("daily", "monthly", "burst",
                                                            "max_retries", "max_body_bytes"))


@pytest.mark.parametrize(("now", "window", "reset"), [
    (ts(2024, 3, 5, 13, 30), Window.DAILY, ts(2024, 3, 6)),
    (ts(2024, 3, 5, 23, 59, 59), Window.DAILY, ts(2024, 3, 6)),
    (ts(2024, 3, 6), Window.DAILY, ts(2024, 3, 7)),
    (ts(2024, 2, 29, 12), Window.MONTHLY, ts(2024, 3, 1)),
    (ts(2024, 12, 31, 23), Window.MONTHLY, ts(2025, 1, 1)),
    (ts(2024, 1, 1), Window.MONTHLY, ts(2024, 2, 1)),
    (ts(2024, 1, 1) + 1500, Window.BURST, ts(2024, 1, 1) + 2000),
])
def test_windows_reset_at_midnight_utc_the_first_and_each_second(
    now: int, window: Window, reset: int
) -> None:
    assert window_reset_s(window, now) * 1000 == reset


def test_daily_quota_counts_and_refuses_then_resets_at_midnight() -> None:
    clock = VirtualClock(start=ts(2024, 3, 5, 23) / 1000)
    quotas = make_quotas(clock, overrides={"daily": 3})
    quotas.charge("t", 2)
    assert quotas.check("t", 1).allowed
    verdict = quotas.check("t", 2)
    assert not verdict.allowed
    assert (verdict.window, verdict.limit, verdict.remaining) == (Window.DAILY, 3, 1)
    assert verdict.reset_s == ts(2024, 3, 6) // 1000
    assert verdict.headers() == {p.RATELIMIT_LIMIT: "3", p.RATELIMIT_REMAINING: "1",
                                 p.RATELIMIT_RESET: str(ts(2024, 3, 6) // 1000)}
    quotas.charge("t")
    with pytest.raises(QuotaExceeded) as raised:
        quotas.require("t")
    assert raised.value.headers[p.RATELIMIT_REMAINING] == "0"
    assert quotas.check("other", 3).allowed, "limits are per tenant"
    clock.advance(3600)
    assert quotas.check("t", 3).allowed
    assert not quotas.check("t", 4).allowed


def test_monthly_window_is_checked_after_the_daily_one() -> None:
    clock = VirtualClock(start=ts(2024, 1, 31, 12) / 1000)
    quotas = make_quotas(clock, overrides={"daily": 10, "monthly": 2})
    quotas.charge("t", 2)
    verdict = quotas.check("t")
    assert (verdict.allowed, verdict.window, verdict.limit) == (False, Window.MONTHLY, 2)
    clock.advance(12 * 3600)
    assert quotas.check("t").allowed


def test_success_headers_only_when_a_window_has_a_limit() -> None:
    quotas = make_quotas(VirtualClock(start=0))
    assert quotas.headers("t") == {}
    quotas.plans.configure("t", {"monthly": 5})
    quotas.charge("t")
    assert quotas.headers("t")[p.RATELIMIT_LIMIT] == "5"
    assert quotas.headers("t")[p.RATELIMIT_REMAINING] == "4"


def test_exhaust_without_a_limit_refuses_until_the_window_resets() -> None:
    clock = VirtualClock(start=ts(2024, 5, 1, 10) / 1000)
    quotas = make_quotas(clock)
    quotas.charge("t", 2)
    quotas.exhaust("t", Window.DAILY)
    verdict = quotas.check("t")
    assert (verdict.allowed, verdict.limit, verdict.remaining) == (False, 2, 0)
    clock.advance(14 * 3600)
    assert quotas.check("t").allowed and quotas.headers("t") == {}


def test_reset_forgets_usage_but_keeps_limits() -> None:
    quotas = make_quotas(VirtualClock(start=0))
    quotas.plans.configure("t", {"daily": 1})
    quotas.charge("t")
    assert not quotas.check("t").allowed
    quotas.reset("t")
    assert quotas.check("t").allowed
    assert quotas.limit("t", "daily") == 1
    quotas.forget("t")
    assert quotas.limit("t", "daily") is None


def test_tenant_setting_beats_emulator_wide_override_which_beats_the_plan() -> None:
    quotas = make_quotas(VirtualClock(start=0), plan="free", overrides={"daily": 50})
    assert quotas.limit("a", "daily") == 50
    quotas.plans.configure("a", {"daily": None})
    assert quotas.limit("a", "daily") is None
    quotas.plans.configure("b", {"plan": "fixed-1m"})
    assert quotas.limit("b", "daily") == 1_000_000
    quotas.plans.configure(None, {"plan": "unlimited", "daily": 7})
    assert quotas.limit("c", "daily") == 7 and quotas.limit("c", "max_retries") is None


def test_burst_limit_counts_requests_per_second() -> None:
    clock = VirtualClock(start=1000)
    quotas = make_quotas(clock, overrides={"burst": 2})
    quotas.hit_burst("t")
    quotas.hit_burst("t")
    with pytest.raises(BurstLimited) as raised:
        quotas.hit_burst("t")
    assert raised.value.headers == {p.BURST_LIMIT: "2", p.BURST_REMAINING: "0",
                                    p.BURST_RESET: "1001"}
    assert p.RATELIMIT_LIMIT not in raised.value.headers
    quotas.hit_burst("other")
    clock.advance(1)
    quotas.hit_burst("t")


@pytest.mark.parametrize(("path", "limited"), [
    ("/v2/publish/http://x", False), ("/v2/enqueue/q/http://x", False), ("/v2/batch", False),
    ("/v2/logs", True), ("/v2/dlq", True), ("/v2/messages/msg_1", True), ("/v2/keys", True),
])
def test_publishing_is_exempt_from_the_burst_limit(path: str, limited: bool) -> None:
    assert burst_limited(path) is limited


@pytest.mark.parametrize("changes", [
    {"daily": -1}, {"daily": "3"}, {"burst": True}, {"plan": "gold"}, {"weekly": 3},
    {"plan": 3},
])
def test_bad_quota_changes_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(BadRequest):
        parse_changes(changes)


def test_quota_change_with_null_lifts_a_limit() -> None:
    assert parse_changes({"daily": None, "burst": 4}) == (None, {"daily": None, "burst": 4})


class HandWall(VirtualClock):
    """A virtual clock whose wall time is moved by hand too."""

    wall_s = 1_000.0

    def wall(self) -> float:
        return self.wall_s


def shared_book() -> MemoryUsage:
    return MemoryStore().usage


def test_an_exhaust_made_by_another_instance_shows_within_the_cache_time() -> None:
    clock, book = HandWall(start=ts(2024, 3, 5) / 1000), shared_book()
    here, there = make_quotas(clock, book=book), make_quotas(clock, book=book)
    assert here.check("t").allowed
    there.exhaust("t", Window.DAILY)
    assert not there.check("t").allowed, "its own exhaust shows at once"
    assert here.check("t").allowed, "no limit: the flag is read once per cache time"
    clock.wall_s += SETTINGS_CACHE_S
    assert not here.check("t").allowed
    there.reset("t")
    assert there.check("t").allowed


def test_a_set_limit_is_counted_exactly_across_instances() -> None:
    clock, book = HandWall(start=ts(2024, 3, 5) / 1000), shared_book()
    here, there = make_quotas(clock, book=book), make_quotas(clock, book=book)
    here.plans.configure("t", {"daily": 2})
    assert there.check("t", 2).allowed
    here.charge("t", 2)
    assert not there.check("t").allowed

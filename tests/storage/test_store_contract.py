"""The Store protocol's contract, run against the memory store and the Redis store alike.

Limits are small (`SMALL_LIMITS`: 3 finished messages, 4 log events, 4 deliveries per tenant)
so that bounded histories are checked too.
"""

from __future__ import annotations

from dataclasses import replace

from qstash_emulator.core.model import (
    CallbackSpec,
    DeliveryRecord,
    DlqEntry,
    FlowControl,
    Kind,
    LogEvent,
    Message,
    Redaction,
    Response,
    SigningKeys,
    State,
)
from qstash_emulator.core.ports import Store
from qstash_emulator.core.schedules.model import Schedule
from qstash_emulator.core.url_groups.model import GroupEndpoint, UrlGroup

A, B = "tenant-a", "tenant:b%"


def message(message_id: str, due_at_ms: int = 1000, tenant: str = A, **changes: object) -> Message:
    base = Message(message_id=message_id, tenant=tenant, url="http://h/x", body=b"\x00body",
                   created_at_ms=500, not_before_ms=due_at_ms, due_at_ms=due_at_ms)
    return replace(base, **changes)  # type: ignore[arg-type]


def ids(messages: list[Message]) -> list[str]:
    return [m.message_id for m in messages]


def delivery(seq: int, tenant: str = A) -> DeliveryRecord:
    return DeliveryRecord(seq, tenant, f"m{seq}", "http://h", "POST", {"a": "b"}, b"x", 0, seq,
                          Response(200, {"h": "v"}, b"ok"), Kind.MESSAGE)


# messages
def test_a_message_reads_back_equal_and_only_for_its_tenant(store: Store) -> None:
    full = message(
        "m1", headers={"Content-Type": "text/plain"}, labels=("x", "y"),
        callback=CallbackSpec("http://cb", {"k": "v"}, retries=2), failure_callback=None,
        redaction=Redaction(body=True, header_names=frozenset({"a", "b"})),
        flow_control=FlowControl("key", parallelism=1, rate=5, period_s=60),
        last_response=Response(500, {"x": "y"}, b"\xffbad", error="boom"), retried=2,
        state=State.RETRY, kind=Kind.CALLBACK, source_message_id="m0", caller_ip="1.2.3.4",
    )
    store.put_message(full)
    assert store.get_message(A, "m1") == full
    assert store.get_message(B, "m1") is None
    assert store.get_message(A, "other") is None


def test_a_put_replaces_the_previous_version(store: Store) -> None:
    store.put_message(message("m1"))
    store.put_message(message("m1", state=State.ACTIVE))
    assert store.get_message(A, "m1") == message("m1", state=State.ACTIVE)


def test_several_messages_read_at_once_keep_the_order_asked(store: Store) -> None:
    store.put_message(message("m1"))
    store.put_message(message("m2", state=State.DELIVERED))
    store.put_message(message("m3", tenant=B))
    wanted = [(A, "m2"), (A, "missing"), (B, "m3"), (A, "m1"), (A, "m3")]
    assert store.get_messages(wanted) == [
        message("m2", state=State.DELIVERED), None, message("m3", tenant=B), message("m1"), None]
    assert store.get_messages([]) == []


def test_an_active_version_never_revives_a_finished_message(store: Store) -> None:
    store.put_message(message("m1"))
    store.put_message(message("m1", state=State.CANCELED))
    store.put_message(message("m1", state=State.ACTIVE))  # an attempt begun elsewhere, too late
    assert store.get_message(A, "m1") == message("m1", state=State.CANCELED)
    assert list(store.active_messages(A)) == []


def test_active_messages_are_the_unfinished_ones_in_creation_order(store: Store) -> None:
    for name in ("m1", "m2", "m3", "m4"):
        store.put_message(message(name))
    store.put_message(message("m2", state=State.ACTIVE))
    store.put_message(message("m3", state=State.DELIVERED))
    store.put_message(message("other", tenant=B))
    assert ids(list(store.active_messages(A))) == ["m1", "m2", "m4"]
    assert list(store.active_messages("nobody")) == []


def test_finished_messages_stay_readable_up_to_the_bound(store: Store) -> None:
    for index in range(5):
        store.put_message(message(f"m{index}", state=State.CANCELED))
    kept = [store.get_message(A, f"m{index}") is not None for index in range(5)]
    assert kept == [False, False, True, True, True]


# the due index
def test_pop_due_returns_due_messages_in_due_order_up_to_the_limit(store: Store) -> None:
    store.put_message(message("late", 3000))
    store.put_message(message("first", 1000))
    store.put_message(message("second", 2000, tenant=B))
    store.put_message(message("third", 2500))
    assert ids(store.pop_due(2500, limit=2)) == ["first", "second"]
    assert ids(store.pop_due(2500, limit=10)) == ["third"]
    assert store.pop_due(2500, limit=10) == []
    assert store.next_due_ms() == 3000
    assert ids(store.pop_due(3000, limit=10)) == ["late"]
    assert store.next_due_ms() is None


def test_only_pending_messages_are_due(store: Store) -> None:
    store.put_message(message("active", 1000))
    store.put_message(message("active", 1000, state=State.ACTIVE))
    store.put_message(message("canceled", 1000))
    store.put_message(message("canceled", 1000, state=State.CANCELED))
    store.put_message(message("retry", 1000, state=State.RETRY))
    assert store.next_due_ms() == 1000
    assert ids(store.pop_due(5000, 10)) == ["retry"]
    assert store.next_due_ms() is None


def test_a_released_attempt_is_due_again_and_pending(store: Store) -> None:
    store.put_message(message("m1", 1000, retried=1, state=State.RETRY))
    store.put_message(message("done", 1000))
    popped = {m.message_id: m for m in store.pop_due(1000, 10)}
    store.put_message(replace(popped["m1"], state=State.ACTIVE))
    store.put_message(replace(popped["done"], state=State.DELIVERED))
    assert store.pop_due(10_000, 10) == []
    store.release(A, "m1", 5000)
    store.release(A, "done", 5000)
    store.release(A, "unknown", 5000)
    again = store.pop_due(5000, 10)
    assert [(m.message_id, m.state, m.retried) for m in again] == [("m1", State.RETRY, 1)]


def test_a_new_due_time_replaces_the_old_one(store: Store) -> None:
    store.put_message(message("m1", 1000))
    store.put_message(message("m1", 4000, state=State.RETRY))
    assert store.next_due_ms() == 4000
    assert store.pop_due(3999, 10) == []
    assert store.pop_due(4000, 10) == [message("m1", 4000, state=State.RETRY)]


def test_a_popped_message_is_due_again_only_after_its_next_pending_put(store: Store) -> None:
    store.put_message(message("m1", 1000))
    [popped] = store.pop_due(1000, 10)
    store.put_message(replace(popped, state=State.ACTIVE))
    assert store.pop_due(10_000, 10) == []
    store.put_message(replace(popped, state=State.RETRY, retried=1, due_at_ms=2000))
    assert ids(store.pop_due(2000, 10)) == ["m1"]


def test_next_due_ms_is_none_for_an_empty_store(store: Store) -> None:
    assert store.next_due_ms() is None
    assert store.pop_due(10**13, 10) == []


# dedup, sequence numbers
def test_dedup_holds_the_first_id_for_the_window_per_tenant(store: Store) -> None:
    assert store.claim_dedup(A, "k", "m1", now_ms=1000, window_ms=600) is None
    assert store.claim_dedup(A, "k", "m2", now_ms=1599, window_ms=600) == "m1"
    assert store.claim_dedup(B, "k", "m3", now_ms=1599, window_ms=600) is None
    assert store.claim_dedup(A, "k", "m4", now_ms=1600, window_ms=600) is None
    assert store.claim_dedup(A, "k", "m5", now_ms=2000, window_ms=600) == "m4"


def test_sequence_numbers_increase(store: Store) -> None:
    seqs = [store.next_seq() for _ in range(5)]
    assert seqs == sorted(set(seqs)) and len(seqs) == 5


# logs, deliveries, DLQ, keys
def test_logs_keep_the_latest_events_in_order(store: Store) -> None:
    events = [LogEvent(seq, seq * 10, State.CREATED, message(f"m{seq}"),
                       next_delivery_ms=seq if seq % 2 else None,
                       response=Response(0, error="timeout") if seq == 5 else None)
              for seq in range(1, 7)]
    for event in events:
        store.append_log(A, event)
    store.append_log(B, events[0])
    assert list(store.logs(A)) == events[2:]
    assert list(store.logs(B)) == events[:1]
    assert list(store.logs("nobody")) == []


def test_deliveries_keep_the_latest_records_in_order(store: Store) -> None:
    for seq in range(1, 7):
        store.append_delivery(delivery(seq))
    assert [r.seq for r in store.deliveries(A)] == [3, 4, 5, 6]
    assert store.deliveries(A)[0] == delivery(3)
    assert list(store.deliveries(B)) == []


def test_the_tenants_with_delivery_records_are_listed(store: Store) -> None:
    assert store.delivery_tenants() == []
    store.put_message(message("m1", tenant="quiet"))
    tricky = "t%3A:x\ny%"
    for tenant in (B, A, tricky, A):
        store.append_delivery(delivery(1, tenant))
    assert store.delivery_tenants() == sorted([A, B, tricky])
    store.reset(B)
    assert store.delivery_tenants() == sorted([A, tricky])


def test_dlq_entries_in_insertion_order_with_get_and_delete(store: Store) -> None:
    entries = [DlqEntry(f"d{i}", message(f"m{i}", state=State.FAILED), Response(500), i)
               for i in (3, 1, 2)]
    for entry in entries:
        store.put_dlq(A, entry)
    assert list(store.dlq(A)) == entries
    assert store.get_dlq(A, "d1") == entries[1]
    assert store.get_dlq(B, "d1") is None
    assert store.delete_dlq(A, "d1") is True
    assert store.delete_dlq(A, "d1") is False
    assert store.get_dlq(A, "d1") is None
    assert [e.dlq_id for e in store.dlq(A)] == ["d3", "d2"]


def test_signing_keys_after_rotation(store: Store) -> None:
    assert store.get_keys(A) is None
    store.set_keys(A, SigningKeys("sig_a", "sig_b"))
    assert store.get_keys(A) == SigningKeys("sig_a", "sig_b")
    assert store.get_keys(B) is None


def test_meta_values(store: Store) -> None:
    assert store.get_meta("clock") is None
    store.set_meta("clock", "123")
    assert store.get_meta("clock") == "123"


# reset
def fill(store: Store, tenant: str) -> None:
    store.put_message(message("due", 1000, tenant=tenant))
    store.put_message(message("done", 1000, tenant=tenant, state=State.DELIVERED))
    store.append_log(tenant, LogEvent(1, 1, State.CREATED, message("due", tenant=tenant)))
    store.append_delivery(delivery(1, tenant))
    store.put_dlq(tenant, DlqEntry("d", message("x", tenant=tenant), Response(500), 1))
    store.set_keys(tenant, SigningKeys("c", "n"))
    store.claim_dedup(tenant, "k", "due", 0, 10_000)


def is_empty(store: Store, tenant: str) -> bool:
    return not any([
        store.get_message(tenant, "due"), store.get_message(tenant, "done"),
        list(store.active_messages(tenant)), list(store.logs(tenant)),
        list(store.deliveries(tenant)), list(store.dlq(tenant)), store.get_keys(tenant),
        store.claim_dedup(tenant, "k", "new", 1, 10_000),
    ])


def test_reset_of_one_tenant_leaves_the_others(store: Store) -> None:
    fill(store, A)
    fill(store, B)
    store.reset(B)
    assert is_empty(store, B)
    assert store.get_message(A, "due") is not None
    assert [(m.tenant, m.message_id) for m in store.pop_due(1000, 10)] == [(A, "due")]


def test_reset_of_all_keeps_meta_values(store: Store) -> None:
    fill(store, A)
    fill(store, B)
    store.set_meta("clock", "5")
    store.reset(None)
    assert is_empty(store, A) and is_empty(store, B)
    assert store.next_due_ms() is None and store.pop_due(10**13, 10) == []
    assert store.get_meta("clock") == "5"


def test_reset_of_a_tenant_named_like_a_pattern_touches_no_other(store: Store) -> None:
    for tenant in ("x*", "xy", "x*:y"):
        fill(store, tenant)
    store.reset("x*")
    assert is_empty(store, "x*")
    assert store.get_message("xy", "due") is not None
    assert store.get_message("x*:y", "due") is not None


# schedules and URL groups
def schedule(schedule_id: str, tenant: str = A, **changes: object) -> Schedule:
    base = Schedule(tenant, schedule_id, "http://h/x", "*/5 * * * *", message("tpl"), 100,
                    last_message_ids=("m1",))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_schedules_round_trip_per_tenant_and_upsert(store: Store) -> None:
    store.put_schedule(schedule("s1"))
    store.put_schedule(schedule("s2", paused=True))
    store.put_schedule(schedule("s1", cron="0 * * * *"))
    store.put_schedule(schedule("s3", tenant=B))
    assert store.get_schedule(A, "s1") == schedule("s1", cron="0 * * * *")
    assert [s.schedule_id for s in store.schedules(A)] == ["s1", "s2"]
    assert sorted(s.schedule_id for s in store.all_schedules()) == ["s1", "s2", "s3"]
    assert store.get_schedule(B, "s1") is None
    assert store.delete_schedule(A, "s2") and not store.delete_schedule(A, "s2")
    store.reset(A)
    assert [s.schedule_id for s in store.all_schedules()] == ["s3"]


def test_url_groups_round_trip_per_tenant(store: Store) -> None:
    group = UrlGroup(A, "g", 1, 2, (GroupEndpoint("http://h/1", "one"), GroupEndpoint("http://h/2")))
    store.put_url_group(group)
    assert store.get_url_group(A, "g") == group and store.get_url_group(B, "g") is None
    assert store.url_groups(A) == [group]
    assert store.delete_url_group(A, "g") and store.get_url_group(A, "g") is None
    store.put_url_group(group)
    store.reset(None)
    assert store.url_groups(A) == [] and list(store.all_schedules()) == []


# gates (queues and flow-control keys)
def test_gates_wait_lists_and_wakes(store: Store) -> None:
    from qstash_emulator.core.gating.rules import Gate, GateKind

    queue = Gate(GateKind.QUEUE, "q", parallelism=1, holders=frozenset({"m1"}),
                 children=frozenset({("m1", "c1")}))
    store.put_gate(A, queue)
    assert store.get_gate(A, "queue", "q") == queue and store.get_gate(B, "queue", "q") is None
    assert store.gates(A, "queue") == [queue]
    for message_id in ("m2", "m3"):
        store.push_waiting(A, "queue", "q", message_id)
    assert store.waiting(A, "queue", "q") == ["m2", "m3"]
    assert store.pop_waiting(A, "queue", "q") == "m2"
    store.put_gate(A, replace(queue, wake_at_ms=2000))
    store.put_gate(B, Gate(GateKind.FLOW, "k", rate=1, wake_at_ms=1500))
    store.put_gate(B, Gate(GateKind.FLOW, "k", rate=1, wake_at_ms=3000))  # moves the wake
    assert store.next_gate_wake_ms() == 2000
    assert store.pop_gate_wakes(2500) == [(A, "queue", "q")]
    assert store.next_gate_wake_ms() == 3000
    with store.gate_lock(), store.gate_lock():  # re-entrant
        store.delete_gate(A, "queue", "q")
    assert store.get_gate(A, "queue", "q") is None and store.waiting(A, "queue", "q") == []
    store.reset(B)
    assert store.next_gate_wake_ms() is None


# quota settings and usage counters
def test_quota_settings_and_usage_windows(store: Store) -> None:
    from qstash_emulator.core.model import QuotaSettings, Usage

    assert store.quota_settings(A) is None and store.usage(A, "daily", 7) == Usage()
    store.put_quota_settings(A, QuotaSettings("free", {"daily": 3, "burst": None}))
    assert store.quota_settings(A) == QuotaSettings("free", {"daily": 3, "burst": None})
    assert store.add_usage(A, "daily", 7, 2) == 2 and store.add_usage(A, "daily", 7, 1) == 3
    assert store.usage(A, "daily", 8) == Usage()  # another day is another window
    store.mark_exhausted(B, "monthly", 1, used=10)
    assert store.usage(B, "monthly", 1) == Usage(10, True)
    assert store.quota_tenants() == sorted([A, B])
    store.clear_usage(A)
    assert store.usage(A, "daily", 7) == Usage() and store.quota_settings(A) is not None
    assert store.quota_tenants() == sorted([A, B])  # known until forgotten
    store.forget_quota(None)
    assert store.quota_settings(A) is None and store.usage(B, "monthly", 1) == Usage()
    assert store.quota_tenants() == []


def test_charging_several_windows_at_once(store: Store) -> None:
    store.charge_usage(A, [("daily", 1), ("monthly", 2)], 3)
    store.charge_usage(A, [("daily", 1), ("monthly", 2)], 1)
    assert (store.usage(A, "daily", 1).used, store.usage(A, "monthly", 2).used) == (4, 4)

"""The store's contract, one section per area, run against the memory store and the Redis
store alike.

Limits are small (`SMALL_LIMITS`: 3 finished messages, 4 log events, 4 deliveries per tenant)
so that bounded histories are checked too.
"""

from __future__ import annotations

from dataclasses import replace

from qstash_emulator.core.gating.rules import Gate, GateKind
from qstash_emulator.core.harness.model import (
    Duplicate,
    FaultRule,
    HarnessState,
    MatchType,
    Outage,
    OutageMode,
    SignatureFault,
)
from qstash_emulator.core.model import (
    CallbackSpec,
    DeliveryRecord,
    DlqEntry,
    FlowControl,
    Kind,
    LogEvent,
    Message,
    QuotaSettings,
    Redaction,
    Response,
    SigningKeys,
    State,
    Usage,
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


# ------------------------------------------------------------------------------------------------
# messages, the due index and dedup ids (MessageStore)
# ------------------------------------------------------------------------------------------------


def test_a_message_reads_back_equal_and_only_for_its_tenant(store: Store) -> None:
    messages = store.messages
    full = message(
        "m1", headers={"Content-Type": "text/plain"}, labels=("x", "y"),
        callback=CallbackSpec("http://cb", {"k": "v"}, retries=2), failure_callback=None,
        redaction=Redaction(body=True, header_names=frozenset({"a", "b"})),
        flow_control=FlowControl("key", parallelism=1, rate=5, period_s=60),
        last_response=Response(500, {"x": "y"}, b"\xffbad", error="boom"), retried=2,
        state=State.RETRY, kind=Kind.CALLBACK, source_message_id="m0", caller_ip="1.2.3.4",
    )
    messages.put_message(full)
    assert messages.get_message(A, "m1") == full
    assert messages.get_message(B, "m1") is None
    assert messages.get_message(A, "other") is None


def test_a_put_replaces_the_previous_version(store: Store) -> None:
    messages = store.messages
    messages.put_message(message("m1"))
    messages.put_message(message("m1", state=State.ACTIVE))
    assert messages.get_message(A, "m1") == message("m1", state=State.ACTIVE)


def test_several_messages_read_at_once_keep_the_order_asked(store: Store) -> None:
    messages = store.messages
    messages.put_message(message("m1"))
    messages.put_message(message("m2", state=State.DELIVERED))
    messages.put_message(message("m3", tenant=B))
    wanted = [(A, "m2"), (A, "missing"), (B, "m3"), (A, "m1"), (A, "m3")]
    assert messages.get_messages(wanted) == [
        message("m2", state=State.DELIVERED), None, message("m3", tenant=B), message("m1"), None]
    assert messages.get_messages([]) == []


def test_an_active_version_never_revives_a_finished_message(store: Store) -> None:
    messages = store.messages
    messages.put_message(message("m1"))
    messages.put_message(message("m1", state=State.CANCELED))
    messages.put_message(message("m1", state=State.ACTIVE))  # an attempt begun elsewhere, too late
    assert messages.get_message(A, "m1") == message("m1", state=State.CANCELED)
    assert list(messages.active_messages(A)) == []


def test_active_messages_are_the_unfinished_ones_in_creation_order(store: Store) -> None:
    messages = store.messages
    for name in ("m1", "m2", "m3", "m4"):
        messages.put_message(message(name))
    messages.put_message(message("m2", state=State.ACTIVE))
    messages.put_message(message("m3", state=State.DELIVERED))
    messages.put_message(message("other", tenant=B))
    assert ids(list(messages.active_messages(A))) == ["m1", "m2", "m4"]
    assert list(messages.active_messages("nobody")) == []


def test_finished_messages_stay_readable_up_to_the_bound(store: Store) -> None:
    messages = store.messages
    for index in range(5):
        messages.put_message(message(f"m{index}", state=State.CANCELED))
    kept = [messages.get_message(A, f"m{index}") is not None for index in range(5)]
    assert kept == [False, False, True, True, True]


def test_pop_due_returns_due_messages_in_due_order_up_to_the_limit(store: Store) -> None:
    messages = store.messages
    messages.put_message(message("late", 3000))
    messages.put_message(message("first", 1000))
    messages.put_message(message("second", 2000, tenant=B))
    messages.put_message(message("third", 2500))
    assert ids(messages.pop_due(2500, limit=2)) == ["first", "second"]
    assert ids(messages.pop_due(2500, limit=10)) == ["third"]
    assert messages.pop_due(2500, limit=10) == []
    assert messages.next_due_ms() == 3000
    assert ids(messages.pop_due(3000, limit=10)) == ["late"]
    assert messages.next_due_ms() is None


def test_only_pending_messages_are_due(store: Store) -> None:
    messages = store.messages
    messages.put_message(message("active", 1000))
    messages.put_message(message("active", 1000, state=State.ACTIVE))
    messages.put_message(message("canceled", 1000))
    messages.put_message(message("canceled", 1000, state=State.CANCELED))
    messages.put_message(message("retry", 1000, state=State.RETRY))
    assert messages.next_due_ms() == 1000
    assert ids(messages.pop_due(5000, 10)) == ["retry"]
    assert messages.next_due_ms() is None


def test_a_released_attempt_is_due_again_and_pending(store: Store) -> None:
    messages = store.messages
    messages.put_message(message("m1", 1000, retried=1, state=State.RETRY))
    messages.put_message(message("done", 1000))
    popped = {m.message_id: m for m in messages.pop_due(1000, 10)}
    messages.put_message(replace(popped["m1"], state=State.ACTIVE))
    messages.put_message(replace(popped["done"], state=State.DELIVERED))
    assert messages.pop_due(10_000, 10) == []
    messages.release(A, "m1", 5000)
    messages.release(A, "done", 5000)
    messages.release(A, "unknown", 5000)
    again = messages.pop_due(5000, 10)
    assert [(m.message_id, m.state, m.retried) for m in again] == [("m1", State.RETRY, 1)]


def test_a_new_due_time_replaces_the_old_one(store: Store) -> None:
    messages = store.messages
    messages.put_message(message("m1", 1000))
    messages.put_message(message("m1", 4000, state=State.RETRY))
    assert messages.next_due_ms() == 4000
    assert messages.pop_due(3999, 10) == []
    assert messages.pop_due(4000, 10) == [message("m1", 4000, state=State.RETRY)]


def test_a_popped_message_is_due_again_only_after_its_next_pending_put(store: Store) -> None:
    messages = store.messages
    messages.put_message(message("m1", 1000))
    [popped] = messages.pop_due(1000, 10)
    messages.put_message(replace(popped, state=State.ACTIVE))
    assert messages.pop_due(10_000, 10) == []
    messages.put_message(replace(popped, state=State.RETRY, retried=1, due_at_ms=2000))
    assert ids(messages.pop_due(2000, 10)) == ["m1"]


def test_next_due_ms_is_none_for_an_empty_store(store: Store) -> None:
    messages = store.messages
    assert messages.next_due_ms() is None
    assert messages.pop_due(10**13, 10) == []


def test_dedup_holds_the_first_id_for_the_window_per_tenant(store: Store) -> None:
    messages = store.messages
    assert messages.claim_dedup(A, "k", "m1", now_ms=1000, window_ms=600) is None
    assert messages.claim_dedup(A, "k", "m2", now_ms=1599, window_ms=600) == "m1"
    assert messages.claim_dedup(B, "k", "m3", now_ms=1599, window_ms=600) is None
    assert messages.claim_dedup(A, "k", "m4", now_ms=1600, window_ms=600) is None
    assert messages.claim_dedup(A, "k", "m5", now_ms=2000, window_ms=600) == "m4"


# ------------------------------------------------------------------------------------------------
# history: sequence numbers, logs, delivery records, the DLQ (HistoryStore)
# ------------------------------------------------------------------------------------------------


def test_sequence_numbers_increase(store: Store) -> None:
    history = store.history
    seqs = [history.next_seq() for _ in range(5)]
    assert seqs == sorted(set(seqs)) and len(seqs) == 5


def test_logs_keep_the_latest_events_in_order(store: Store) -> None:
    history = store.history
    events = [LogEvent(seq, seq * 10, State.CREATED, message(f"m{seq}"),
                       next_delivery_ms=seq if seq % 2 else None,
                       response=Response(0, error="timeout") if seq == 5 else None)
              for seq in range(1, 7)]
    for event in events:
        history.append_log(A, event)
    history.append_log(B, events[0])
    assert list(history.logs(A)) == events[2:]
    assert list(history.logs(B)) == events[:1]
    assert list(history.logs("nobody")) == []


def test_deliveries_keep_the_latest_records_in_order(store: Store) -> None:
    history = store.history
    for seq in range(1, 7):
        history.append_delivery(delivery(seq))
    assert [r.seq for r in history.deliveries(A)] == [3, 4, 5, 6]
    assert history.deliveries(A)[0] == delivery(3)
    assert list(history.deliveries(B)) == []


def test_the_tenants_with_delivery_records_are_listed(store: Store) -> None:
    assert store.history.delivery_tenants() == []
    store.messages.put_message(message("m1", tenant="quiet"))
    tricky = "t%3A:x\ny%"
    for tenant in (B, A, tricky, A):
        store.history.append_delivery(delivery(1, tenant))
    assert store.history.delivery_tenants() == sorted([A, B, tricky])
    store.reset(B)
    assert store.history.delivery_tenants() == sorted([A, tricky])


def test_dlq_entries_in_insertion_order_with_get_and_delete(store: Store) -> None:
    history = store.history
    entries = [DlqEntry(f"d{i}", message(f"m{i}", state=State.FAILED), Response(500), i)
               for i in (3, 1, 2)]
    for entry in entries:
        history.put_dlq(A, entry)
    assert list(history.dlq(A)) == entries
    assert history.get_dlq(A, "d1") == entries[1]
    assert history.get_dlq(B, "d1") is None
    assert history.delete_dlq(A, "d1") is True
    assert history.delete_dlq(A, "d1") is False
    assert history.get_dlq(A, "d1") is None
    assert [e.dlq_id for e in history.dlq(A)] == ["d3", "d2"]


# ------------------------------------------------------------------------------------------------
# gates: queues and flow-control keys, wait lists, wakes, the lock (GateStore)
# ------------------------------------------------------------------------------------------------


def test_gates_wait_lists_and_wakes(store: Store) -> None:
    gates = store.gates
    queue = Gate(GateKind.QUEUE, "q", parallelism=1, holders=frozenset({"m1"}),
                 children=frozenset({("m1", "c1")}))
    gates.put_gate(A, queue)
    assert gates.get_gate(A, "queue", "q") == queue and gates.get_gate(B, "queue", "q") is None
    assert gates.gates(A, "queue") == [queue]
    for message_id in ("m2", "m3"):
        gates.push_waiting(A, "queue", "q", message_id)
    assert gates.waiting(A, "queue", "q") == ["m2", "m3"]
    assert gates.pop_waiting(A, "queue", "q") == "m2"
    gates.put_gate(A, replace(queue, wake_at_ms=2000))
    gates.put_gate(B, Gate(GateKind.FLOW, "k", rate=1, wake_at_ms=1500))
    gates.put_gate(B, Gate(GateKind.FLOW, "k", rate=1, wake_at_ms=3000))  # moves the wake
    assert gates.next_gate_wake_ms() == 2000
    assert gates.pop_gate_wakes(2500) == [(A, "queue", "q")]
    assert gates.next_gate_wake_ms() == 3000
    with gates.gate_lock(), gates.gate_lock():  # re-entrant
        gates.delete_gate(A, "queue", "q")
    assert gates.get_gate(A, "queue", "q") is None and gates.waiting(A, "queue", "q") == []
    store.reset(B)
    assert gates.next_gate_wake_ms() is None


# ------------------------------------------------------------------------------------------------
# usage: plan settings and usage counters (UsageStore)
# ------------------------------------------------------------------------------------------------


def test_quota_settings_and_usage_windows(store: Store) -> None:
    usage = store.usage
    assert usage.quota_settings(A) is None and usage.usage(A, "daily", 7) == Usage()
    usage.put_quota_settings(A, QuotaSettings("free", {"daily": 3, "burst": None}))
    assert usage.quota_settings(A) == QuotaSettings("free", {"daily": 3, "burst": None})
    assert usage.add_usage(A, "daily", 7, 2) == 2 and usage.add_usage(A, "daily", 7, 1) == 3
    assert usage.usage(A, "daily", 8) == Usage()  # another day is another window
    usage.mark_exhausted(B, "monthly", 1, used=10)
    assert usage.usage(B, "monthly", 1) == Usage(10, True)
    assert usage.quota_tenants() == sorted([A, B])
    usage.clear_usage(A)
    assert usage.usage(A, "daily", 7) == Usage() and usage.quota_settings(A) is not None
    assert usage.quota_tenants() == sorted([A, B])  # known until forgotten
    usage.forget_quota(None)
    assert usage.quota_settings(A) is None and usage.usage(B, "monthly", 1) == Usage()
    assert usage.quota_tenants() == []


def test_charging_several_windows_at_once(store: Store) -> None:
    usage = store.usage
    usage.charge_usage(A, [("daily", 1), ("monthly", 2)], 3)
    usage.charge_usage(A, [("daily", 1), ("monthly", 2)], 1)
    assert (usage.usage(A, "daily", 1).used, usage.usage(A, "monthly", 2).used) == (4, 4)


# ------------------------------------------------------------------------------------------------
# configuration: schedules, URL groups, signing keys, meta values (ConfigStore)
# ------------------------------------------------------------------------------------------------


def schedule(schedule_id: str, tenant: str = A, **changes: object) -> Schedule:
    base = Schedule(tenant, schedule_id, "http://h/x", "*/5 * * * *", message("tpl"), 100,
                    last_message_ids=("m1",))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_schedules_round_trip_per_tenant_and_upsert(store: Store) -> None:
    config = store.config
    config.put_schedule(schedule("s1"))
    config.put_schedule(schedule("s2", paused=True))
    config.put_schedule(schedule("s1", cron="0 * * * *"))
    config.put_schedule(schedule("s3", tenant=B))
    assert config.get_schedule(A, "s1") == schedule("s1", cron="0 * * * *")
    assert [s.schedule_id for s in config.schedules(A)] == ["s1", "s2"]
    assert sorted(s.schedule_id for s in config.all_schedules()) == ["s1", "s2", "s3"]
    assert config.get_schedule(B, "s1") is None
    assert config.delete_schedule(A, "s2") and not config.delete_schedule(A, "s2")
    store.reset(A)
    assert [s.schedule_id for s in config.all_schedules()] == ["s3"]


def test_url_groups_round_trip_per_tenant(store: Store) -> None:
    config = store.config
    group = UrlGroup(A, "g", 1, 2, (GroupEndpoint("http://h/1", "one"), GroupEndpoint("http://h/2")))
    config.put_url_group(group)
    assert config.get_url_group(A, "g") == group and config.get_url_group(B, "g") is None
    assert config.url_groups(A) == [group]
    assert config.delete_url_group(A, "g") and config.get_url_group(A, "g") is None
    config.put_url_group(group)
    store.reset(None)
    assert config.url_groups(A) == [] and list(config.all_schedules()) == []


def test_signing_keys_after_rotation(store: Store) -> None:
    config = store.config
    assert config.get_keys(A) is None
    config.set_keys(A, SigningKeys("sig_a", "sig_b"))
    assert config.get_keys(A) == SigningKeys("sig_a", "sig_b")
    assert config.get_keys(B) is None


def test_meta_values(store: Store) -> None:
    config = store.config
    assert config.get_meta("clock") is None
    config.set_meta("clock", "123")
    assert config.get_meta("clock") == "123"


# ------------------------------------------------------------------------------------------------
# harness state: fault rules and their counters, pending duplicates, outages (HarnessStore)
# ------------------------------------------------------------------------------------------------


def rule(rule_id: str, tenant: str | None = A, **changes: object) -> FaultRule:
    base = FaultRule(rule_id, tenant, "http://h/", MatchType.PREFIX, statuses=(500, 503),
                     probability=0.5, seed=7, draw_seed="7", duplicate_after_s=1.5,
                     signature=SignatureFault.EXPIRED)
    return replace(base, **changes)  # type: ignore[arg-type]


def outage(tenant: str | None = A, outage_id: str = "o1", **changes: object) -> Outage:
    base = Outage(OutageMode.TIMEOUT, tenant, seconds=2.5, paths=("/v2/publish",),
                  outage_id=outage_id)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_an_empty_harness(store: Store) -> None:
    harness = store.harness
    assert harness.harness_state() == HarnessState()
    assert harness.pop_duplicates(10**13) == []
    assert harness.end_all_outages() == 0 and not harness.end_outage(None)


def test_fault_rules_in_the_order_added_and_numbers_never_repeat(store: Store) -> None:
    harness = store.harness
    numbers = [harness.new_fault_number() for _ in range(3)]
    assert numbers == sorted(set(numbers)) and numbers[0] >= 1
    for rule_id in ("f2", "f1", "f3"):
        harness.put_fault(rule(rule_id))
    harness.put_fault(rule("f1", tenant=None, statuses=()))  # replaces, keeps its place
    assert harness.harness_state().rules == (
        rule("f2"), rule("f1", tenant=None, statuses=()), rule("f3"))
    assert harness.delete_faults(["f1", "unknown"]) == 1
    assert harness.delete_faults([]) == 0
    assert [r.rule_id for r in harness.harness_state().rules] == ["f2", "f3"]


def test_fault_counters_count_per_rule_and_name_and_go_with_the_rule(store: Store) -> None:
    harness = store.harness
    harness.put_fault(rule("f1"))
    harness.put_fault(rule("f2"))
    steps = [harness.advance_fault("f1", "statuses") for _ in range(3)]
    assert steps == [1, 2, 3]
    assert harness.advance_fault("f1", "draws") == 1
    assert harness.advance_fault("f2", "statuses") == 1
    assert harness.advance_fault("gone", "statuses") == 0
    harness.delete_faults(["f1"])
    assert harness.advance_fault("f1", "statuses") == 0
    harness.put_fault(rule("f1"))  # a rule added again starts from the beginning
    assert harness.advance_fault("f1", "statuses") == 1


def test_duplicates_are_taken_once_in_due_order(store: Store) -> None:
    harness = store.harness
    for due_ms, message_id in ((300, "c"), (100, "a"), (200, "b"), (200, "b")):
        harness.add_duplicate(Duplicate(due_ms, B, message_id, "f1"))
    assert harness.harness_state().next_duplicate_ms == 100
    taken = harness.pop_duplicates(200)
    assert sorted((d.due_ms, d.tenant, d.message_id, d.rule_id) for d in taken) == [
        (100, B, "a", "f1"), (200, B, "b", "f1"), (200, B, "b", "f1")]
    assert harness.pop_duplicates(200) == []
    assert harness.harness_state().next_duplicate_ms == 300
    harness.clear_duplicates()
    assert harness.harness_state().next_duplicate_ms is None


def test_one_outage_per_tenant_and_one_for_every_tenant(store: Store) -> None:
    harness = store.harness
    harness.start_outage(outage(A))
    harness.start_outage(outage(B, "o2", mode=OutageMode.ERROR, status=500))
    harness.start_outage(outage(None, "o3"))
    harness.start_outage(outage(A, "o4", mode=OutageMode.RESET))  # replaces A's
    held = {o.tenant: o for o in harness.harness_state().outages}
    assert held == {A: outage(A, "o4", mode=OutageMode.RESET),
                    B: outage(B, "o2", mode=OutageMode.ERROR, status=500), None: outage(None, "o3")}
    assert harness.end_outage(B) and not harness.end_outage(B)
    assert harness.end_all_outages() == 2
    assert harness.harness_state().outages == ()


def test_a_counted_outage_is_used_up_request_by_request(store: Store) -> None:
    harness = store.harness
    counted = outage(A, count=3)
    harness.start_outage(counted)
    harness.start_outage(outage(B))
    assert harness.take_outage(counted) == 2
    [shown] = [o for o in harness.harness_state().outages if o.tenant == A]
    assert shown == replace(counted, count=2)
    assert harness.take_outage(outage(B)) is None, "not counted: nothing to use up"
    assert [harness.take_outage(counted) for _ in range(3)] == [1, 0, None]
    assert [o.tenant for o in harness.harness_state().outages] == [B]


def test_taking_from_an_outage_that_was_replaced_takes_nothing(store: Store) -> None:
    harness = store.harness
    first = outage(A, "o1", count=5)
    harness.start_outage(first)
    harness.start_outage(outage(A, "o2", count=2))
    assert harness.take_outage(first) is None
    [held] = harness.harness_state().outages
    assert (held.outage_id, held.count) == ("o2", 2)
    harness.start_outage(outage(A, "o3"))  # no count any more
    [held] = harness.harness_state().outages
    assert (held.outage_id, held.count) == ("o3", None)


# ------------------------------------------------------------------------------------------------
# the store as a whole: reset
# ------------------------------------------------------------------------------------------------


def fill(store: Store, tenant: str) -> None:
    """Something of `tenant` in every area."""
    store.messages.put_message(message("due", 1000, tenant=tenant))
    store.messages.put_message(message("done", 1000, tenant=tenant, state=State.DELIVERED))
    store.messages.claim_dedup(tenant, "k", "due", 0, 10_000)
    store.history.append_log(tenant, LogEvent(1, 1, State.CREATED, message("due", tenant=tenant)))
    store.history.append_delivery(delivery(1, tenant))
    store.history.put_dlq(tenant, DlqEntry("d", message("x", tenant=tenant), Response(500), 1))
    store.gates.put_gate(tenant, Gate(GateKind.QUEUE, "q", wake_at_ms=5000))
    store.gates.push_waiting(tenant, "queue", "q", "due")
    store.usage.put_quota_settings(tenant, QuotaSettings("free"))
    store.usage.add_usage(tenant, "daily", 1, 5)
    store.config.set_keys(tenant, SigningKeys("c", "n"))
    store.config.put_schedule(schedule("s", tenant=tenant))
    store.config.put_url_group(UrlGroup(tenant, "g", 1, 1, (GroupEndpoint("http://h/1"),)))
    store.harness.put_fault(rule(f"rule-of-{tenant}", tenant=tenant))
    store.harness.start_outage(outage(tenant, f"outage-of-{tenant}"))


def is_empty(store: Store, tenant: str) -> bool:
    harness = store.harness.harness_state()
    return not any([
        store.messages.get_message(tenant, "due"), store.messages.get_message(tenant, "done"),
        list(store.messages.active_messages(tenant)),
        store.messages.claim_dedup(tenant, "k", "new", 1, 10_000),
        list(store.history.logs(tenant)), list(store.history.deliveries(tenant)),
        list(store.history.dlq(tenant)), tenant in store.history.delivery_tenants(),
        store.gates.get_gate(tenant, "queue", "q"), list(store.gates.waiting(tenant, "queue", "q")),
        store.usage.quota_settings(tenant), store.usage.usage(tenant, "daily", 1) != Usage(),
        tenant in store.usage.quota_tenants(),
        store.config.get_keys(tenant), list(store.config.schedules(tenant)),
        any(s.tenant == tenant for s in store.config.all_schedules()),
        list(store.config.url_groups(tenant)),
        any(r.tenant == tenant for r in harness.rules),
        any(o.tenant == tenant for o in harness.outages),
    ])


def test_reset_of_one_tenant_leaves_the_others(store: Store) -> None:
    messages = store.messages
    fill(store, A)
    fill(store, B)
    store.reset(B)
    assert is_empty(store, B)
    assert messages.get_message(A, "due") is not None
    assert [(m.tenant, m.message_id) for m in messages.pop_due(1000, 10)] == [(A, "due")]
    assert not is_empty(store, A)


def test_reset_of_one_tenant_keeps_the_harness_state_of_every_tenant(store: Store) -> None:
    harness = store.harness
    harness.put_fault(rule("everyone", tenant=None))
    harness.start_outage(outage(None))
    harness.add_duplicate(Duplicate(100, A, "m", "everyone"))
    store.reset(A)
    state = harness.harness_state()
    assert ([r.rule_id for r in state.rules], [o.tenant for o in state.outages],
            state.next_duplicate_ms) == (["everyone"], [None], 100)
    store.reset(None)
    assert harness.harness_state() == HarnessState()


def test_reset_of_all_keeps_meta_values(store: Store) -> None:
    fill(store, A)
    fill(store, B)
    store.config.set_meta("clock", "5")
    store.reset(None)
    assert is_empty(store, A) and is_empty(store, B)
    assert store.messages.next_due_ms() is None and store.messages.pop_due(10**13, 10) == []
    assert store.gates.next_gate_wake_ms() is None
    assert store.config.get_meta("clock") == "5"


def test_reset_of_a_tenant_named_like_a_pattern_touches_no_other(store: Store) -> None:
    messages = store.messages
    for tenant in ("x*", "xy", "x*:y"):
        fill(store, tenant)
    store.reset("x*")
    assert is_empty(store, "x*")
    assert messages.get_message("xy", "due") is not None
    assert messages.get_message("x*:y", "due") is not None



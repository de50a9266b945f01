"""The WorkflowStore contract, run against the memory store and the Redis store alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis
from redis_support import unique_prefix

from qstash_emulator.core.model import CallbackSpec, FlowControl, Message, WorkflowRef
from qstash_emulator.core.ports import Store
from qstash_emulator.core.workflows.model import (
    CallbackState,
    Failure,
    HistoryItem,
    Invoker,
    Run,
    RunSettings,
    RunState,
    Waiter,
)
from qstash_emulator.core.workflows.ports import WorkflowStore
from qstash_emulator.storage.memory.workflows import MemoryWorkflowStore
from qstash_emulator.storage.redis.workflows import RedisWorkflowStore

A, B = "tenant-a", "tenant:b%"
ODD_ID = "wfr_odd:id\nwith%"
MAX_ENDED = 3


@pytest.fixture(params=["memory", "redis"])
def workflows(request: pytest.FixtureRequest) -> Iterator[WorkflowStore]:
    if request.param == "memory":
        yield MemoryWorkflowStore(max_ended_runs=MAX_ENDED)
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_server_url"))
    store = RedisWorkflowStore(client, prefix=unique_prefix("workflows"),
                               max_ended_runs=MAX_ENDED)
    yield store
    store.reset(None)
    client.close()


def run(run_id: str = "wfr_1", tenant: str = A, created_at_ms: int = 1000, **changes: object
        ) -> Run:
    base = Run(tenant, run_id, "http://app/wf", created_at_ms, b"\x00payload", "msg_init")
    return replace(base, **changes)  # type: ignore[arg-type]


def waiter(waiter_id: str, deadline_ms: int, run_id: str = "wfr_1", event_id: str = "ev",
           tenant: str = A) -> Waiter:
    return Waiter(tenant, event_id, run_id, "http://app/wf", deadline_ms, "1d",
                  {"upstash-workflow-runid": run_id}, "http://app/wf", {"x": "y"},
                  {"stepId": 1, "stepName": "wait"}, waiter_id)


def item(message_id: str) -> HistoryItem:
    return HistoryItem(message_id, f"body of {message_id}".encode(), "step")


# runs
def test_a_run_reads_back_equal_and_only_for_its_tenant(workflows: WorkflowStore) -> None:
    spec = CallbackSpec("http://app/wf", {"Upstash-Workflow-Is-Failure": "true"}, retries=1,
                        workflow=WorkflowRef("wfr_1", "failureCall", "http://app/wf", 1000))
    full = run(settings=RunSettings({"X-Shop": "acme"}, 1, "1000", spec,
                                    FlowControl("k", parallelism=2), ("l1", "l2"), "1.2.3.4"),
               invoker=Invoker("wfr_0", "http://app/parent", 900, {"a": "b"}, {"stepId": 2}),
               failure=Failure("dlq-1", 500, {"h": "v"}, b"\xffboom", "http://app/wf", "msg_f",
                               CallbackState.CALLBACK_FAIL, 500, b"down"))
    assert workflows.create_run(full) is None
    assert workflows.get_run(A, "wfr_1") == full
    assert workflows.get_run(B, "wfr_1") is None
    assert workflows.runs(A) == [full] and workflows.runs(B) == []


def test_a_second_create_of_a_live_run_stores_nothing(workflows: WorkflowStore) -> None:
    first = run()
    workflows.create_run(first)
    workflows.append_history(A, "wfr_1", item("m1"))
    assert workflows.create_run(run(initial_body=b"other")) == first
    assert workflows.get_run(A, "wfr_1") == first
    assert workflows.history(A, "wfr_1") == [item("m1")]


def test_a_run_that_ended_is_replaced_with_its_history_and_events(
    workflows: WorkflowStore
) -> None:
    workflows.create_run(run())
    workflows.append_history(A, "wfr_1", item("m1"))
    workflows.add_run_message(A, "wfr_1", "m1")
    workflows.hold_event(A, "wfr_1", "ev", b"data")
    workflows.put_run(run(state=RunState.RUN_SUCCESS, completed_at_ms=2000))
    again = run(created_at_ms=3000)
    assert workflows.create_run(again) is None
    assert workflows.get_run(A, "wfr_1") == again
    assert workflows.history(A, "wfr_1") == []
    assert workflows.run_messages(A, "wfr_1") == []
    assert workflows.take_held_event(A, "wfr_1", "ev") is None


def test_put_run_replaces_it(workflows: WorkflowStore) -> None:
    workflows.create_run(run())
    ended = run(state=RunState.RUN_CANCELED, completed_at_ms=5, response="done")
    workflows.put_run(ended)
    assert workflows.get_run(A, "wfr_1") == ended and not ended.live
    assert workflows.runs(A) == [ended]


def test_only_the_newest_ended_runs_are_kept(workflows: WorkflowStore) -> None:
    for n in range(5):
        run_id = f"wfr_{n}:x"
        workflows.create_run(run(run_id))
        workflows.append_history(A, run_id, item(f"m{n}"))
        workflows.put_run(run(run_id, state=RunState.RUN_SUCCESS, completed_at_ms=100 + n))
    workflows.create_run(run("wfr_live"))
    kept = sorted(r.run_id for r in workflows.runs(A))
    assert kept == ["wfr_2:x", "wfr_3:x", "wfr_4:x", "wfr_live"]
    assert workflows.history(A, "wfr_0:x") == [] and workflows.get_run(A, "wfr_0:x") is None
    assert workflows.history(A, "wfr_4:x") == [item("m4")]
    workflows.create_run(run("wfr_2:x"))  # started again: live, not counted as ended
    workflows.put_run(run("wfr_9", state=RunState.RUN_FAILED, completed_at_ms=200))
    assert sorted(r.run_id for r in workflows.runs(A)) == [
        "wfr_2:x", "wfr_3:x", "wfr_4:x", "wfr_9", "wfr_live"]


def page_ids(workflows: WorkflowStore, state: RunState | None = None, limit: int = 2,
             tenant: str = A) -> list[list[str]]:
    """Every page of runs, as run ids, following the cursors."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = workflows.run_page(tenant, state, cursor, limit)
        pages.append([summary.run.run_id for summary in page.runs])
        if page.cursor is None:
            return pages
        cursor = page.cursor


def test_runs_page_newest_first_then_by_id_and_by_state(workflows: WorkflowStore) -> None:
    for run_id, created in (("wfr_a", 100), ("wfr_c", 300), (ODD_ID, 300), ("wfr_b", 200),
                            ("wfr_z", 50)):
        workflows.create_run(run(run_id, created_at_ms=created))
    workflows.create_run(run("wfr_other", tenant=B, created_at_ms=999))
    workflows.put_run(run("wfr_b", created_at_ms=200, state=RunState.RUN_FAILED,
                          completed_at_ms=400))
    assert page_ids(workflows) == [[ODD_ID, "wfr_c"], ["wfr_b", "wfr_a"], ["wfr_z"]]
    assert page_ids(workflows, limit=5) == [[ODD_ID, "wfr_c", "wfr_b", "wfr_a", "wfr_z"]]
    assert page_ids(workflows, RunState.RUN_STARTED, limit=3) == [
        [ODD_ID, "wfr_c", "wfr_a"], ["wfr_z"]]
    assert page_ids(workflows, RunState.RUN_FAILED) == [["wfr_b"]]
    assert page_ids(workflows, RunState.RUN_CANCELED) == [[]]
    assert page_ids(workflows, tenant=B) == [["wfr_other"]]
    first = workflows.run_page(A, None, None, 1).runs[0]
    assert first.run == workflows.get_run(A, ODD_ID) and first.steps == 0


def test_run_counts_follow_each_state_change(workflows: WorkflowStore) -> None:
    def counts() -> dict[str, int]:
        return {state.value: n for state, n in workflows.run_counts(A).items() if n}

    assert workflows.run_counts(A) == dict.fromkeys(RunState, 0)
    for n in range(3):
        workflows.create_run(run(f"wfr_{n}"))
    assert counts() == {"RUN_STARTED": 3}
    workflows.put_run(run("wfr_0", state=RunState.RUN_SUCCESS, completed_at_ms=1))
    workflows.put_run(run("wfr_1", state=RunState.RUN_CANCELED, completed_at_ms=2))
    assert counts() == {"RUN_STARTED": 1, "RUN_SUCCESS": 1, "RUN_CANCELED": 1}
    workflows.create_run(run("wfr_0", created_at_ms=5000))  # started again
    assert counts() == {"RUN_STARTED": 2, "RUN_CANCELED": 1}
    assert page_ids(workflows, limit=10) == [["wfr_0", "wfr_2", "wfr_1"]]
    for n in range(3, 8):  # ended runs beyond the bound go, and leave the counts
        workflows.put_run(run(f"wfr_{n}", state=RunState.RUN_FAILED, completed_at_ms=10 + n))
    assert counts() == {"RUN_STARTED": 2, "RUN_FAILED": 3}
    assert page_ids(workflows, RunState.RUN_FAILED, limit=10) == [["wfr_7", "wfr_6", "wfr_5"]]
    assert workflows.run_counts(B) == dict.fromkeys(RunState, 0)
    workflows.reset(A)
    assert counts() == {} and page_ids(workflows) == [[]]


def test_a_page_counts_the_step_messages_of_each_history(workflows: WorkflowStore) -> None:
    workflows.create_run(run())
    for message_id, call_type in (("m1", "step"), ("m2", "toCallback"), ("m3", "step"),
                                  ("m1", "step")):
        workflows.append_history(A, "wfr_1", HistoryItem(message_id, b"{}", call_type))
    [summary] = workflows.run_page(A, None, None, 10).runs
    assert summary.steps == 2
    workflows.put_history(A, "wfr_1", [item("m7"), item("m8"), item("m9")])
    assert workflows.run_page(A, None, None, 10).runs[0].steps == 3
    workflows.put_run(run(state=RunState.RUN_SUCCESS, completed_at_ms=1500))
    workflows.create_run(run(created_at_ms=2000))  # a new run of the same id starts afresh
    assert workflows.run_page(A, None, None, 10).runs[0].steps == 0


# history and messages
def test_history_keeps_each_message_once_in_order(workflows: WorkflowStore) -> None:
    workflows.create_run(run(ODD_ID))
    assert workflows.append_history(A, ODD_ID, item("m1")) == [item("m1")]
    assert workflows.append_history(A, ODD_ID, item("m2")) == [item("m1"), item("m2")]
    assert workflows.append_history(A, ODD_ID, item("m1")) == [item("m1"), item("m2")]
    assert workflows.history(A, ODD_ID) == [item("m1"), item("m2")]
    assert workflows.history(B, ODD_ID) == []


def test_put_history_replaces_it(workflows: WorkflowStore) -> None:
    workflows.create_run(run())
    workflows.append_history(A, "wfr_1", item("m1"))
    workflows.put_history(A, "wfr_1", [item("m7"), item("m8")])
    assert workflows.history(A, "wfr_1") == [item("m7"), item("m8")]
    assert workflows.append_history(A, "wfr_1", item("m7")) == [item("m7"), item("m8")]
    workflows.put_history(A, "wfr_1", [])
    assert workflows.history(A, "wfr_1") == []


def test_run_messages_in_the_order_added(workflows: WorkflowStore) -> None:
    workflows.create_run(run())
    for message_id in ("m2", "m1", "m3"):
        workflows.add_run_message(A, "wfr_1", message_id)
    assert workflows.run_messages(A, "wfr_1") == ["m2", "m1", "m3"]
    assert workflows.run_messages(B, "wfr_1") == []


# waiters
def test_waiters_are_listed_and_taken_by_event_and_run(workflows: WorkflowStore) -> None:
    one, two = waiter("w1", 500, "wfr_1"), waiter("w2", 600, ODD_ID)
    other_event = waiter("w3", 700, event_id="other:event")
    for each in (one, two, other_event):
        workflows.put_waiter(each)
    assert sorted(w.waiter_id for w in workflows.waiters(A, "ev")) == ["w1", "w2"]
    assert workflows.waiters(B, "ev") == []
    assert workflows.take_waiters(A, "ev", ODD_ID) == [two]
    assert workflows.take_waiters(A, "ev", None) == [one]
    assert workflows.take_waiters(A, "ev", None) == []
    assert workflows.waiters(A, "other:event") == [other_event]


def test_due_waiters_pop_earliest_first_and_once(workflows: WorkflowStore) -> None:
    for each in (waiter("late", 900), waiter("early", 100), waiter("mid", 500, tenant=B)):
        workflows.put_waiter(each)
    assert workflows.next_waiter_deadline_ms() == 100
    assert [w.waiter_id for w in workflows.pop_due_waiters(600, 1)] == ["early"]
    assert [w.waiter_id for w in workflows.pop_due_waiters(600, 10)] == ["mid"]
    assert workflows.pop_due_waiters(600, 10) == []
    assert workflows.next_waiter_deadline_ms() == 900
    assert workflows.waiters(A, "ev") == [waiter("late", 900)]


def test_a_taken_waiter_never_falls_due(workflows: WorkflowStore) -> None:
    workflows.put_waiter(waiter("w1", 100))
    workflows.take_waiters(A, "ev", "wfr_1")
    assert workflows.pop_due_waiters(10_000, 10) == []
    assert workflows.next_waiter_deadline_ms() is None


def test_a_runs_waiters_whatever_their_events_until_taken_or_due(
    workflows: WorkflowStore
) -> None:
    mine = [waiter("w1", 500, event_id="ev"), waiter("w2", 900, event_id="other:ev")]
    for each in (*mine, waiter("w3", 600, run_id=ODD_ID), waiter("w4", 700, tenant=B)):
        workflows.put_waiter(each)
    assert sorted(workflows.run_waiters(A, "wfr_1"), key=lambda w: w.waiter_id) == mine
    assert [w.waiter_id for w in workflows.run_waiters(A, ODD_ID)] == ["w3"]
    assert workflows.run_waiters(B, ODD_ID) == []
    workflows.take_waiters(A, "ev", None)
    assert workflows.run_waiters(A, "wfr_1") == [mine[1]]
    assert workflows.run_waiters(A, ODD_ID) == []
    workflows.pop_due_waiters(1000, 10)
    assert workflows.run_waiters(A, "wfr_1") == [] and workflows.run_waiters(B, "wfr_1") == []
    workflows.put_waiter(waiter("w5", 100))
    workflows.reset(A)
    assert workflows.run_waiters(A, "wfr_1") == []


# held events
def test_a_held_event_is_taken_once(workflows: WorkflowStore) -> None:
    workflows.create_run(run())
    workflows.hold_event(A, "wfr_1", "ev:1", b"\x00data")
    assert workflows.take_held_event(B, "wfr_1", "ev:1") is None
    assert workflows.take_held_event(A, "wfr_1", "ev:1") == b"\x00data"
    assert workflows.take_held_event(A, "wfr_1", "ev:1") is None
    workflows.hold_event(A, "wfr_1", "ev:2", b"x")
    workflows.drop_held_events(A, "wfr_1")
    assert workflows.take_held_event(A, "wfr_1", "ev:2") is None


# reset
def test_reset_of_one_tenant_keeps_the_others(workflows: WorkflowStore) -> None:
    for tenant in (A, B):
        workflows.create_run(run(tenant=tenant))
        workflows.append_history(tenant, "wfr_1", item("m1"))
        workflows.put_waiter(waiter("w", 100, tenant=tenant))
    workflows.reset(B)
    assert workflows.get_run(B, "wfr_1") is None and workflows.history(B, "wfr_1") == []
    assert workflows.waiters(B, "ev") == []
    assert workflows.get_run(A, "wfr_1") is not None
    assert [w.tenant for w in workflows.pop_due_waiters(1000, 10)] == [A]
    workflows.reset(None)
    assert workflows.runs(A) == [] and workflows.next_waiter_deadline_ms() is None


# the message store keeps a message's run
def test_a_message_keeps_its_run(store: Store) -> None:
    ref = WorkflowRef("wfr_1", "toCallback", "http://app/wf", 1000, init=True, invoke=True)
    message = Message("m1", A, "http://api", b"{}", 1, 1, workflow=ref,
                      callback=CallbackSpec("http://app/wf", workflow=replace(
                          ref, call_type="fromCallback", init=False)))
    store.messages.put_message(message)
    assert store.messages.get_message(A, "m1") == message

"""The service and scheduler together on a virtual clock, delivering through a function.

The dispatcher here is an in-process seam (a transport), not a mock of our own code: every
rule under test (due times, retries, DLQ, callbacks, cancel) runs for real.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.messages.publish import PublishRequest
from qstash_emulator.core.model import DeliveryRequest, Response, State
from qstash_emulator.delivery.dispatchers import FunctionDispatcher
from qstash_emulator.ids import RandomIds
from qstash_emulator.storage.memory import MemoryStore
from qstash_emulator.storage.memory.messages import MemoryMessages

TENANT = "t"



def make(answer: Callable[[DeliveryRequest], Response]) -> tuple[Emulator, FunctionDispatcher]:
    dispatcher = FunctionDispatcher(answer)
    emulator = Emulator(
        Settings(clock="virtual", tokens=(TENANT,)),
        clock=VirtualClock(start=1_700_000_000),
        store=MemoryStore(),
        dispatcher=dispatcher,
        ids=RandomIds(seed=1),
    )
    return emulator, dispatcher


def publish(emulator: Emulator, headers: dict[str, str] | None = None, url: str = "http://d/x"
            ) -> str:
    request = PublishRequest(url, headers or {}, b"body")
    return emulator.service.publish(TENANT, request, None)[0].message_id


@pytest.mark.anyio
async def test_due_messages_are_delivered_in_due_order_never_early() -> None:
    emulator, dispatcher = make(lambda r: Response(200))
    await emulator.start()
    late = publish(emulator, {"upstash-delay": "30s"})
    early = publish(emulator, {"upstash-delay": "10s"})
    now = publish(emulator)
    await emulator.drain()
    assert [r.message_id for r in dispatcher.requests] == [now]
    await emulator.advance(9.999)
    assert len(dispatcher.requests) == 1
    await emulator.advance(30)
    assert [r.message_id for r in dispatcher.requests] == [now, early, late]
    starts = [r.started_at_ms - 1_700_000_000_000 for r in dispatcher.requests]
    assert starts == [0, 10_000, 30_000]
    await emulator.stop()


@pytest.mark.anyio
async def test_ten_thousand_waiting_messages_do_not_delay_a_due_one() -> None:
    emulator, dispatcher = make(lambda r: Response(200))
    await emulator.start()
    for _ in range(10_000):
        publish(emulator, {"upstash-delay": "1d"})
    urgent = publish(emulator)
    await emulator.drain()
    assert [r.message_id for r in dispatcher.requests] == [urgent]
    assert emulator.store.messages.next_due_ms() == 1_700_000_000_000 + 86_400_000
    await emulator.stop()


@pytest.mark.anyio
async def test_failure_path_states_and_dlq() -> None:
    emulator, dispatcher = make(lambda r: Response(500, {"X": "1"}, b"no"))
    await emulator.start()
    message_id = publish(emulator, {"upstash-retries": "2", "upstash-retry-delay": "5000"})
    await emulator.advance(10)
    assert [r.attempt for r in dispatcher.requests] == [0, 1, 2]
    message = emulator.service.get_message(TENANT, message_id)
    assert (message.state, message.retried) == (State.FAILED, 2)
    [entry] = emulator.store.history.dlq(TENANT)
    assert entry.response.body == b"no" and entry.message.message_id == message_id
    await emulator.stop()


@pytest.mark.anyio
async def test_cancel_while_in_flight_ignores_the_outcome() -> None:
    emulator, dispatcher = make(lambda r: Response(500))
    await emulator.start()
    message_id = publish(emulator)
    emulator.run_due()
    await asyncio.sleep(0)
    assert emulator.service.cancel(TENANT, message_id) == 1
    await emulator.advance(3600)
    assert len(dispatcher.requests) == 1
    assert emulator.service.get_message(TENANT, message_id).state is State.CANCELED
    assert emulator.store.history.dlq(TENANT) == []
    await emulator.stop()


@pytest.mark.anyio
async def test_signature_and_delivery_headers() -> None:
    import jwt

    emulator, dispatcher = make(lambda r: Response(200))
    await emulator.start()
    message_id = publish(emulator, {"upstash-forward-x-a": "1"}, url="http://d/x?q=1")
    await emulator.drain()
    [request] = dispatcher.requests
    keys = emulator.service.signing_keys(TENANT)
    claims = jwt.decode(request.headers["Upstash-Signature"], keys.current, algorithms=["HS256"],
                        issuer="Upstash")
    assert claims["sub"] == "http://d/x?q=1" and claims["nbf"] == 0
    assert claims["exp"] - claims["iat"] == 300 and claims["jti"].startswith("jwt_")
    assert request.headers["Upstash-Message-Id"] == message_id
    assert request.headers["X-A"] == "1" and request.headers["Upstash-Retried"] == "0"
    await emulator.stop()


@pytest.mark.anyio
async def test_on_a_real_clock_a_message_due_before_the_planned_wake_is_not_kept_waiting() -> None:
    from qstash_emulator.clocks import SystemClock

    dispatcher = FunctionDispatcher(lambda r: Response(200))
    clock = SystemClock(speed=1000)  # 100 s of delay pass in 0.1 s of wall time
    emulator = Emulator(Settings(tokens=(TENANT,)), clock=clock, store=MemoryStore(),
                        dispatcher=dispatcher, ids=RandomIds(seed=1))
    await emulator.start()
    published_ms = clock.now_ms()
    late = publish(emulator, {"upstash-delay": "100s"})
    await asyncio.sleep(0.01)  # the scheduler is now idle, its timer set for `late`
    early = publish(emulator, {"upstash-delay": "1s"})
    while len(dispatcher.requests) < 2:
        await asyncio.sleep(0.01)
    await emulator.stop()
    assert [r.message_id for r in dispatcher.requests] == [early, late]
    assert dispatcher.requests[0].started_at_ms < published_ms + 100_000


class MessagesDownOnce(MemoryMessages):
    """Memory-store messages whose first look for due work fails, as a remote store's can."""

    failures = 1

    def pop_due(self, now_ms: int, limit: int) -> list:  # type: ignore[type-arg]
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store unreachable")
        return super().pop_due(now_ms, limit)


def store_with(messages: MemoryMessages) -> MemoryStore:
    store = MemoryStore()
    store.messages = messages
    return store


@pytest.mark.anyio
async def test_the_scheduler_reports_a_failed_pass_and_keeps_running(
        caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = FunctionDispatcher(lambda r: Response(200))
    emulator = Emulator(Settings(clock="virtual", tokens=(TENANT,)),
                        clock=VirtualClock(start=1_700_000_000),
                        store=store_with(MessagesDownOnce(max_finished=100)),
                        dispatcher=dispatcher, ids=RandomIds(seed=1))
    caplog.set_level(logging.WARNING)
    await emulator.start()
    message_id = publish(emulator)
    for _ in range(200):
        if dispatcher.requests:
            break
        await asyncio.sleep(0.01)
    await emulator.stop()
    assert [r.message_id for r in dispatcher.requests] == [message_id]
    assert [(r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("scheduler pass failed; trying again: ConnectionError: store unreachable", None)]


class MessagesDownWhileFinishing(MemoryMessages):
    """Memory-store messages that fail the first read of a finishing attempt's message."""

    failures = 1

    def get_messages(self, wanted: list[tuple[str, str]]) -> list:  # type: ignore[override,type-arg]
        current = super().get_messages(wanted)
        if self.failures and current and all(
            m is not None and m.state is State.ACTIVE for m in current
        ):
            self.failures -= 1
            raise ConnectionError("store unreachable")
        return current


@pytest.mark.anyio
async def test_an_attempt_that_fails_midway_is_given_back_and_made_again() -> None:
    dispatcher = FunctionDispatcher(lambda r: Response(200))
    messages = MessagesDownWhileFinishing(max_finished=100)
    store = store_with(messages)
    emulator = Emulator(Settings(clock="virtual", tokens=(TENANT,)),
                        clock=VirtualClock(start=1_700_000_000), store=store,
                        dispatcher=dispatcher, ids=RandomIds(seed=1))
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: None)
    message_id = publish(emulator)
    await emulator.drain()
    assert messages.failures == 0
    assert [r.message_id for r in dispatcher.requests] == [message_id, message_id]
    found = messages.get_message(TENANT, message_id)
    assert found is not None and found.state is State.DELIVERED

"""Workflow apps under test: FastAPI endpoints served by the official `upstash-workflow` SDK.

Each step function appends to `Journal.executed` when it really runs (a step replayed from the
history does not), so a test sees exactly which steps the emulator made the app execute.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from qstash import AsyncQStash, Receiver
from upstash_workflow import AsyncWorkflowContext
from upstash_workflow.fastapi import Serve


@dataclass
class Journal:
    """What the app did: the steps it executed (name, value) and the failure calls it got."""

    executed: list[tuple[str, Any]] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, name: str, value: Any) -> Any:
        with self._lock:
            self.executed.append((name, value))
        return value

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.executed]

    def value(self, name: str) -> Any:
        return next(value for step, value in self.executed if step == name)


def order_app(client: AsyncQStash, receiver: Receiver, journal: Journal) -> FastAPI:
    """`/order`: run -> run (uses the first result) -> sleep 7d -> call -> run."""
    app = FastAPI()
    serve = Serve(app)

    @serve.post("/order", qstash_client=client, receiver=receiver)
    async def order(context: AsyncWorkflowContext[dict[str, Any]]) -> None:
        payload = context.request_payload
        journal.seen_headers.append(dict(context.headers))

        async def reserve() -> dict[str, Any]:
            journal.run_ids.append(context.workflow_run_id)
            return journal.note("reserve", {"item": payload["item"], "qty": 2})

        reserved = await context.run("reserve", reserve)

        async def price() -> int:
            return journal.note("price", reserved["qty"] * 21)

        total = await context.run("price", price)
        await context.sleep("cool-down", "7d")
        quote = await context.call(
            "quote", url=payload["quote_url"], method="POST", body={"total": total}
        )

        async def confirm() -> dict[str, Any]:
            return journal.note(
                "confirm", {"total": total, "status": quote.status, "quote": quote.body}
            )

        await context.run("confirm", confirm)

    return app


def fragile_app(client: AsyncQStash, receiver: Receiver, journal: Journal) -> FastAPI:
    """`/fragile`: one good step, then a step that always raises; a failure function."""
    app = FastAPI()
    serve = Serve(app)

    async def on_failure(
        context: AsyncWorkflowContext[Any], status: int, message: str, headers: dict[str, Any]
    ) -> None:
        journal.failures.append({"runId": context.workflow_run_id, "status": status,
                                 "message": message, "payload": context.request_payload})

    @serve.post("/fragile", qstash_client=client, receiver=receiver, retries=1,
                failure_function=on_failure)
    async def fragile(context: AsyncWorkflowContext[dict[str, Any]]) -> None:
        async def fine() -> str:
            return journal.note("fine", "ok")

        await context.run("fine", fine)

        async def charge() -> None:
            journal.note("charge", "attempt")
            raise RuntimeError("card declined")

        await context.run("charge", charge)

    return app

"""The messages feature as the workflow feature uses it: publish a step, cancel a message,
publish a DLQ entry again, store a message made here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..context import Context
from ..errors import EmulatorError
from ..messages.publish import Publisher, PublishRequest
from ..messages.queries import Queries
from ..model import DlqEntry, Message, WorkflowRef


class Desk:
    def __init__(self, ctx: Context, publisher: Publisher, queries: Queries) -> None:
        self._history = ctx.history
        self._messages = ctx.messages
        self._publisher = publisher
        self._queries = queries

    def publish(self, tenant: str, request: PublishRequest) -> str:
        """Publish one step (as an API publish would); its message id."""
        [[published]] = self._publisher.batch(tenant, [request], None)
        return published.message_id

    def try_publish(self, tenant: str, request: PublishRequest) -> str | None:
        """`publish`, or None when it is refused (e.g. its run has ended meanwhile)."""
        try:
            return self.publish(tenant, request)
        except EmulatorError:
            return None

    def cancel(self, tenant: str, message_ids: Sequence[str]) -> None:
        self._queries.cancel_many(tenant, list(message_ids), {})

    def store_new(self, message: Message) -> None:
        self._publisher.store_new(message)

    def retry_dlq(self, tenant: str, entry: DlqEntry, headers: Mapping[str, str],
                  workflow: WorkflowRef | None = None) -> Message:
        return self._publisher.retry_dlq(tenant, entry, headers, workflow)

    def dlq(self, tenant: str) -> Sequence[DlqEntry]:
        return self._history.dlq(tenant)

    def get_dlq(self, tenant: str, dlq_id: str) -> DlqEntry:
        return self._queries.get_dlq(tenant, dlq_id)

    def delete_dlq(self, tenant: str, dlq_id: str) -> bool:
        return self._history.delete_dlq(tenant, dlq_id)

    def messages(self, tenant: str, message_ids: Sequence[str]) -> list[Message | None]:
        return self._messages.get_messages([(tenant, m) for m in message_ids])

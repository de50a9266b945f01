"""Reading and cancelling: messages, the DLQ and the logs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .. import protocol as p
from ..context import Context
from ..errors import NotFound
from ..gating.admission import Admission
from ..model import DlqEntry, LogEvent, Message, State
from .browse import newest_logs
from .filters import (
    MessageFilter,
    Page,
    cancel_count,
    page_size,
    paginate,
    refuse_unknown,
    values,
)

LOG_STATE_ALIASES = {
    "CANCELLED": ("CANCELED",),
    "IN_PROGRESS": ("ACTIVE", "RETRY", "ERROR"),
}


class Queries:
    def __init__(self, ctx: Context, gates: Admission) -> None:
        self.ctx = ctx
        self.gates = gates

    # messages
    def get_message(self, tenant: str, message_id: str) -> Message:
        message = self.ctx.messages.get_message(tenant, message_id)
        if message is None:
            raise NotFound(p.MESSAGE_NOT_FOUND)
        return message

    def cancel(self, tenant: str, message_id: str) -> int:
        message = self.get_message(tenant, message_id)
        if message.finished:
            return 0
        self.ctx.log(message, State.CANCEL_REQUESTED)
        canceled = self.ctx.save(message, State.CANCELED)
        self.ctx.log(canceled, State.CANCELED)
        self.gates.on_terminal(canceled)
        return 1

    def cancel_many(self, tenant: str, ids: list[str] | None, params: Mapping[str, Sequence[str]]
                    ) -> int:
        """Cancel by ids, or by filters (no filters: every pending message), oldest first and
        at most `count` of them when given."""
        refuse_unknown(params, "messages")
        if ids is not None:
            return sum(self._cancel_if_known(tenant, message_id) for message_id in ids)
        wanted = MessageFilter.from_params(params)
        count = cancel_count(params)
        matching = sorted((m for m in self.ctx.messages.active_messages(tenant)
                           if wanted.matches(m, m.created_at_ms)), key=lambda m: m.created_at_ms)
        return sum(self.cancel(tenant, m.message_id) for m in matching[:count])

    def _cancel_if_known(self, tenant: str, message_id: str) -> int:
        message = self.ctx.messages.get_message(tenant, message_id)
        return 0 if message is None else self.cancel(tenant, message_id)

    # DLQ
    def get_dlq(self, tenant: str, dlq_id: str) -> DlqEntry:
        entry = self.ctx.history.get_dlq(tenant, dlq_id)
        if entry is None:
            raise NotFound(p.DLQ_NOT_FOUND)
        return entry

    def delete_dlq(self, tenant: str, dlq_id: str) -> None:
        if not self.ctx.history.delete_dlq(tenant, dlq_id):
            raise NotFound(p.DLQ_NOT_FOUND)

    def list_dlq(self, tenant: str, params: Mapping[str, Sequence[str]]) -> Page[DlqEntry]:
        refuse_unknown(params, "dlq")
        wanted = MessageFilter.from_params(params)
        statuses = {int(s) for s in values(params, "responseStatus") if s.lstrip("-").isdigit()}
        ids = set(values(params, "dlqIds"))
        chosen = (
            entry for entry in self.ctx.history.dlq(tenant)
            if wanted.matches(entry.message, entry.failed_at_ms)
            and (not statuses or entry.response.status in statuses)
            and (not ids or entry.dlq_id in ids)
        )
        cursor = next(iter(values(params, "cursor")), None)
        return paginate(chosen, lambda e: e.dlq_id, cursor, page_size(params, 100, 100))

    def delete_dlq_many(self, tenant: str, ids: list[str]) -> int:
        return sum(self.ctx.history.delete_dlq(tenant, dlq_id) for dlq_id in ids)

    # logs
    def list_logs(self, tenant: str, params: Mapping[str, Sequence[str]]) -> Page[LogEvent]:
        refuse_unknown(params, "logs")
        wanted = MessageFilter.from_params(params)
        states = _states(values(params, "state"))
        chosen = (
            event for event in newest_logs(self.ctx.history, tenant)
            if (not states or event.state.value in states)
            and wanted.matches(event.message, event.time_ms)
        )
        cursor = next(iter(values(params, "cursor")), None)
        return paginate(chosen, lambda e: str(e.seq), cursor, page_size(params, 100, 1000))


def _states(requested: list[str]) -> set[str]:
    states: set[str] = set()
    for state in requested:
        states.update(LOG_STATE_ALIASES.get(state.upper(), (state.upper(),)))
    return states

"""Delivery attempts: claim due messages, build signed requests, apply outcomes."""

from __future__ import annotations

from .. import protocol as p
from ..context import Context
from ..gating.admission import Admission
from ..gating.rules import is_gated
from ..harness.faults import Faults, spoil
from ..keys import SigningKeyRing
from ..model import (
    DeliveryRecord,
    DeliveryRequest,
    DlqEntry,
    Kind,
    Message,
    Response,
    State,
    changed,
)
from .hooks import MessageHooks, NoHooks
from .lifecycle import callback_body, callback_message, decide, error_text
from .signing import SignatureClaims, sign

PENDING = frozenset({State.CREATED, State.RETRY})


class Attempts:
    """Delivery attempts: claim due messages, build signed requests, apply outcomes."""

    def __init__(
        self, ctx: Context, gates: Admission, keys: SigningKeyRing, faults: Faults
    ) -> None:
        self.ctx = ctx
        self.gates = gates
        self.keys = keys
        self.faults = faults
        self.hooks: MessageHooks = NoHooks()

    def take_due(self, limit: int) -> list[Message]:
        return self.gates.take_due(self.ctx.now_ms(), limit)

    def begin(self, due: list[Message], *, reread: bool = False) -> list[DeliveryRequest]:
        """Mark messages taken by `take_due` ACTIVE and return the requests to send.

        Admitting gated messages may have changed others of their gate (or taken one twice),
        so those are read again, in one go, and begun once if still pending; with `reread`
        (messages that waited since they were taken) every one is read again."""
        stale = [m for m in due if reread or is_gated(m)]
        wanted = list(dict.fromkeys((m.tenant, m.message_id) for m in stale))
        fresh = dict(zip(wanted, self.ctx.messages.get_messages(wanted), strict=True))
        requests = []
        for message in due:
            key = (message.tenant, message.message_id)
            found = fresh.pop(key, None) if reread or is_gated(message) else message
            if found is not None and found.state in PENDING:
                active = self.ctx.save(found, State.ACTIVE)
                self.ctx.log(active, State.ACTIVE)
                requests.append(self.request_for(active))
        return requests

    def request_for(self, message: Message) -> DeliveryRequest:
        body, extra = (message.body, {}) if message.workflow is None else (
            self.hooks.delivery(message))
        headers = {**message.headers, **extra, **self._delivery_headers(message, body)}
        timeout_s = min(message.timeout_s or self.ctx.limits.max_timeout_s,
                        self.ctx.limits.max_timeout_s)
        return DeliveryRequest(
            tenant=message.tenant,
            message_id=message.message_id,
            url=message.url,
            method=message.method,
            headers=headers,
            body=body,
            timeout_s=self.ctx.clock.wall_seconds(timeout_s),
            attempt=message.retried,
            started_at_ms=self.ctx.now_ms(),
            start_seq=self.ctx.history.next_seq(),
        )

    def _delivery_headers(self, message: Message, body: bytes) -> dict[str, str]:
        headers = {
            "User-Agent": p.USER_AGENT,
            p.SIGNATURE: self._signature(message, body),
            p.MESSAGE_ID: message.message_id,
            p.RETRIED: str(message.retried),
            p.REGION: self.ctx.region,
        }
        optional = {
            p.CALLER_IP: message.caller_ip,
            p.SCHEDULE_ID: message.schedule_id,
            p.TOPIC_NAME: message.topic_name,
        }
        headers.update({name: value for name, value in optional.items() if value})
        return headers

    def _signature(self, message: Message, body: bytes) -> str:
        """Signed over the body actually sent (for a workflow step, the run's history)."""
        keys = self.keys.keys_to_sign(message.tenant)
        claims = SignatureClaims(
            url=message.url,
            body=body,
            issued_at=int(self.ctx.clock.wall()),
            jwt_id=self.ctx.ids.new_id("jwt"),
        )
        fault = self.faults.signature_for(message.tenant, message.url)
        if fault is not None:  # signed with the next key: see core/faults.spoil
            return sign(keys.next, spoil(claims, fault))
        return sign(keys.current, claims)

    def finish(self, outcomes: list[tuple[DeliveryRequest, Response]]) -> list[Exception | None]:
        """Record attempts and move their messages on (all are read again in one go); per
        outcome, the error that stopped it, if any."""
        current = self.ctx.messages.get_messages([(r.tenant, r.message_id) for r, _ in outcomes])
        errors: list[Exception | None] = []
        for (request, response), message in zip(outcomes, current, strict=True):
            try:
                self._finish_one(request, response, message)
                errors.append(None)
            except Exception as exc:  # one bad outcome must not stop the others
                errors.append(exc)
        return errors

    def _finish_one(
        self, request: DeliveryRequest, response: Response, message: Message | None
    ) -> None:
        self._record(request, response, message.kind if message else Kind.MESSAGE)
        if message is None or message.state is not State.ACTIVE:
            return
        self._conclude(message, response)
        if message.queue_name is not None or message.flow_control is not None:
            self.gates.after_attempt(message)

    def _conclude(self, message: Message, response: Response) -> None:
        if message.callback and message.kind is Kind.MESSAGE:
            self._spawn_callback(message, response, None)
        decision = decide(message, response, self.ctx.now_ms())
        if decision.state is State.DELIVERED:
            done = self.ctx.save(message, State.DELIVERED, last_response=response)
            self.ctx.log(done, State.DELIVERED, response=response)
            if done.workflow is not None:
                self.hooks.delivered(done, response)
            return
        failed = changed(message, last_response=response)
        self.ctx.log(failed, State.ERROR, error=error_text(response), response=response)
        if decision.state is State.RETRY:
            assert decision.next_attempt_ms is not None
            retry = self.ctx.save(
                failed, State.RETRY, retried=message.retried + 1, due_at_ms=decision.next_attempt_ms
            )
            self.ctx.log(retry, State.RETRY, next_delivery_ms=decision.next_attempt_ms)
        else:
            self._fail(failed, response)

    def _fail(self, message: Message, response: Response) -> None:
        final = self.ctx.save(message, State.FAILED)
        self.ctx.log(final, State.FAILED, error=error_text(response), response=response)
        dlq_id = self.ctx.new_dlq_id()
        self.ctx.history.put_dlq(final.tenant, DlqEntry(dlq_id, final, response,
                                                     self.ctx.now_ms()))
        if final.workflow is not None:
            callback = self.hooks.failed(final, response, dlq_id)
            if callback is not None:
                self._store_callback(final, callback)
        elif final.failure_callback and final.kind is Kind.MESSAGE:
            self._spawn_callback(final, response, dlq_id)

    def _spawn_callback(self, source: Message, response: Response, dlq_id: str | None) -> None:
        spec = source.failure_callback if dlq_id else source.callback
        assert spec is not None
        kind = Kind.FAILURE_CALLBACK if dlq_id else Kind.CALLBACK
        callback = callback_message(
            source,
            spec,
            callback_body(source, response, dlq_id),
            kind,
            self.ctx.ids.new_id("msg"),
            self.ctx.now_ms(),
        )
        self._store_callback(source, callback)

    def _store_callback(self, source: Message, callback: Message) -> None:
        self.ctx.messages.put_message(callback)
        self.ctx.log(callback, State.CREATED)
        self.gates.adopt(source, callback)

    def record_extra(self, request: DeliveryRequest, response: Response) -> None:
        """Log an attempt outside the message's progress (an injected duplicate delivery)."""
        message = self.ctx.messages.get_message(request.tenant, request.message_id)
        if message is None:
            return
        self._record(request, response, message.kind)
        self.ctx.log(message, message.state, response=response)

    def _record(self, request: DeliveryRequest, response: Response, kind: Kind) -> None:
        record = DeliveryRecord(
            seq=self.ctx.history.next_seq(),
            tenant=request.tenant,
            message_id=request.message_id,
            url=request.url,
            method=request.method,
            headers=request.headers,
            body=request.body,
            attempt=request.attempt,
            time_ms=request.started_at_ms,
            response=response,
            kind=kind,
            start_seq=request.start_seq,
            ended_at_ms=self.ctx.now_ms(),
        )
        self.ctx.history.append_delivery(record)

"""Creating messages: publish, batch and DLQ retry."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .. import protocol as p
from ..context import Context
from ..errors import BadRequest, PayloadTooLarge
from ..gating.admission import Admission
from ..gating.queues import Queues, enqueued
from ..harness.quotas import Quotas
from ..model import DlqEntry, Kind, Message, State, WorkflowRef, changed
from ..plans import Plans
from ..ports import UrlGroupStore
from ..url_groups.url_groups import Target, targets, with_group_defaults
from .hooks import MessageHooks, NoHooks
from .parse import Parsed, parse_destination, parse_publish, parse_publish_to

PLAN_LIMITS = ("max_body_bytes", "max_delay_s", "max_retries", "max_timeout_s")


@dataclass(frozen=True, slots=True)
class Published:
    message_id: str
    url: str
    deduplicated: bool = False
    url_group: str | None = None


@dataclass(frozen=True, slots=True)
class PublishRequest:
    destination: str
    headers: Mapping[str, str]
    body: bytes
    queue: str | None = None


class Publisher:
    """Creating messages: publish, batch, DLQ retry, and the copies schedules make."""

    def __init__(
        self, ctx: Context, url_group_store: UrlGroupStore, gates: Admission, plans: Plans,
        quotas: Quotas, queues: Queues,
    ) -> None:
        self.ctx = ctx
        self.url_group_store = url_group_store
        self.gates = gates
        self.plans = plans
        self.quotas = quotas
        self.queues = queues
        self.hooks: MessageHooks = NoHooks()

    def parse(self, tenant: str, request: PublishRequest, caller_ip: str | None) -> Parsed:
        limit = self.ctx.limits.max_body_bytes
        if len(request.body) > limit:
            raise PayloadTooLarge(p.BODY_TOO_LARGE.format(limit=limit))
        destination = parse_destination(request.destination)
        parsed = parse_publish_to(
            destination,
            with_group_defaults(self.url_group_store, tenant, destination, request.headers),
            request.body,
            now_ms=self.ctx.arrival_ms(),
            caller_ip=caller_ip,
        )
        if request.queue is not None:
            parsed = enqueued(parsed, request.queue, request.headers)
        return parsed

    def publish(
        self, tenant: str, request: PublishRequest, caller_ip: str | None
    ) -> list[Published]:
        """One `Published` per target: a URL gives one, a URL group one per endpoint."""
        return self.batch(tenant, [request], caller_ip)[0]

    def batch(
        self, tenant: str, requests: list[PublishRequest], caller_ip: str | None
    ) -> list[list[Published]]:
        """All or nothing: every element is validated (queues, groups, quota) before any is
        accepted. A URL group costs one message per endpoint."""
        parsed = [self.hooks.shape(tenant, self.for_plan(tenant, self.parse(tenant, request,
                                                                            caller_ip)),
                                   request.headers) for request in requests]
        self._check_queues(tenant, parsed)
        found = [targets(self.url_group_store, tenant, item.destination) for item in parsed]
        self.quotas.require(tenant, sum(len(item) for item in found))
        return [
            [self._accept_one(tenant, item, target) for target in item_targets]
            for item, item_targets in zip(parsed, found, strict=True)
        ]

    def _check_queues(self, tenant: str, parsed: list[Parsed]) -> None:
        names = {item.template.queue_name for item in parsed} - {None}
        if names:
            self.queues.check_room(tenant, names)  # type: ignore[arg-type]

    def for_plan(self, tenant: str, parsed: Parsed) -> Parsed:
        """Refuse what the tenant's plan forbids (size, delay); cap retries and timeout."""
        template = self._within_plan(tenant, parsed.template)
        return parsed if template is parsed.template else replace(parsed, template=template)

    def _within_plan(self, tenant: str, template: Message) -> Message:
        """The template as the tenant's plan allows it: a body over the size limit (413) and a
        delay beyond the maximum (400) are refused; retries and timeout above the plan's
        maximum are capped, so `maxRetries` shows the value used."""
        limit, max_delay_s, max_retries, max_timeout_s = self.plans.limits_of(tenant, PLAN_LIMITS)
        emulator_limit = self.ctx.limits.max_body_bytes
        body_limit = emulator_limit if limit is None else min(limit, emulator_limit)
        if len(template.body) > body_limit:
            raise PayloadTooLarge(p.BODY_TOO_LARGE.format(limit=body_limit))
        if max_delay_s is not None and template.not_before_ms - template.created_at_ms > (
                max_delay_s * 1000):
            raise BadRequest(p.DELAY_ABOVE_PLAN.format(field=p.DELAY, limit=max_delay_s))
        changes: dict[str, object] = {}
        if max_retries is not None and template.max_retries > max_retries:
            changes["max_retries"] = max_retries
        if max_timeout_s is not None and (template.timeout_s or 0) > max_timeout_s:
            changes["timeout_s"] = max_timeout_s
        return replace(template, **changes) if changes else template  # type: ignore[arg-type]

    def _accept_one(self, tenant: str, parsed: Parsed, target: Target) -> Published:
        url = target.url
        message_id = self.ctx.ids.new_id("msg")
        dedup_key = parsed.dedup_key(url)
        if dedup_key is not None and target.topic_name is not None:
            dedup_key = f"{dedup_key}\n{url}"
        if dedup_key is not None:
            window_ms = self.ctx.limits.dedup_window_s * 1000
            existing = self.ctx.messages.claim_dedup(
                tenant, dedup_key, message_id, self.ctx.now_ms(), window_ms
            )
            if existing is not None:
                return Published(existing, url, deduplicated=True, url_group=target.topic_name)
        template = parsed.template
        message = changed(
            template, message_id=message_id, tenant=tenant, url=url,
            topic_name=target.topic_name, endpoint_name=target.endpoint_name,
            due_at_ms=template.not_before_ms,
        )
        if message.workflow is not None:
            admitted = self.hooks.admit(message)
            if isinstance(admitted, str):
                return Published(admitted, url, deduplicated=True, url_group=target.topic_name)
            message = admitted
        self.store_new(message)
        return Published(message_id, url, url_group=target.topic_name)

    def store_new(self, message: Message) -> None:
        if message.kind is Kind.MESSAGE:
            self.quotas.charge(message.tenant)
        self.gates.on_accept(message)
        enlist = self.gates.joins_queue_now(message, self.ctx.arrival_ms())
        if message.enlisted != enlist:  # e.g. a DLQ retry copies its source's flag
            message = changed(message, enlisted=enlist)
        if enlist:
            self.gates.enlist(message, self._put_new)
        else:
            self._put_new(message)
        self.ctx.wake(message.due_at_ms)

    def _put_new(self, message: Message) -> None:
        self.ctx.messages.put_message(message)
        self.ctx.log(message, State.CREATED)

    def retry_dlq(self, tenant: str, entry: DlqEntry, headers: Mapping[str, str],
                  workflow: WorkflowRef | None = None) -> Message:
        """Publish the DLQ entry's message again (new id); headers may override settings, and
        `workflow` moves it to another run."""
        now_ms = self.ctx.now_ms()
        config = {k: v for k, v in headers.items() if k.startswith(p.CONFIG_PREFIX)}
        given = parse_publish(entry.message.url, config, b"", now_ms=now_ms).template
        source = entry.message
        message = replace(
            source,
            message_id=self.ctx.ids.new_id("msg"),
            created_at_ms=now_ms,
            not_before_ms=given.not_before_ms,
            due_at_ms=given.not_before_ms,
            state=State.CREATED,
            retried=0,
            last_response=None,
            max_retries=given.max_retries if p.RETRIES in config else source.max_retries,
            retry_delay_expr=given.retry_delay_expr if p.RETRY_DELAY in config
            else source.retry_delay_expr,
            timeout_s=given.timeout_s if p.TIMEOUT in config else source.timeout_s,
            workflow=workflow or source.workflow,
        )
        self.ctx.history.delete_dlq(tenant, entry.dlq_id)
        self.store_new(message)
        return message


def parse_batch(raw: bytes) -> list[PublishRequest]:
    """The `/v2/batch` body: a JSON array of {destination, headers, body, queue}."""
    try:
        items = json.loads(raw or b"null")
    except ValueError as exc:
        raise BadRequest(f"invalid batch body: {exc}") from exc
    if not isinstance(items, list):
        raise BadRequest("invalid batch body: want a JSON array of messages")
    if len(items) > p.MAX_BATCH_MESSAGES:
        raise BadRequest(p.BATCH_TOO_LARGE.format(count=len(items), limit=p.MAX_BATCH_MESSAGES))
    return [_batch_item(index, item) for index, item in enumerate(items)]


def _batch_item(index: int, item: object) -> PublishRequest:
    if not isinstance(item, dict):
        raise BadRequest(f"invalid batch element {index}: want an object")
    destination = item.get("destination")
    headers = item.get("headers") or {}
    body = item.get("body")
    if not isinstance(destination, str):
        raise BadRequest(f"invalid batch element {index}: destination must be a string")
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise BadRequest(f"invalid batch element {index}: headers must map names to strings")
    queue = item.get("queue")
    return PublishRequest(
        destination=destination,
        headers={str(k).lower(): v for k, v in headers.items()},
        body=_batch_body(body),
        queue=queue if isinstance(queue, str) and queue else None,
    )


def _batch_body(body: object) -> bytes:
    """A string body as it is; any other JSON value (the JS SDK sends objects as they are) as
    compact JSON text."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, separators=(",", ":")).encode()

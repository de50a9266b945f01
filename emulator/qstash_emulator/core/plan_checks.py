"""A tenant's plan applied to a validated publish: size and delay refused, retries and timeout
capped.

QStash documents these limits per plan but not its answer when a publish goes beyond them.
The emulator refuses what cannot be honoured without changing the message's meaning (a body
that is too large: 413; a delay beyond the plan's maximum: 400) and caps the rest, as the
docs' wording "capped by plan" suggests (`Upstash-Retries` above the plan's maximum becomes the
maximum; `Upstash-Timeout` likewise), so `maxRetries` shows the value that is used.
"""

from __future__ import annotations

from dataclasses import replace

from . import protocol as p
from .errors import BadRequest, PayloadTooLarge
from .harness.quotas import Quotas
from .model import Message


def enforce_plan(template: Message, quotas: Quotas, tenant: str, max_body_bytes: int) -> Message:
    """The template as the tenant's plan allows it (raises on size and delay)."""
    limit = quotas.limit(tenant, "max_body_bytes")
    body_limit = max_body_bytes if limit is None else min(limit, max_body_bytes)
    if len(template.body) > body_limit:
        raise PayloadTooLarge(p.BODY_TOO_LARGE.format(limit=body_limit))
    max_delay_s = quotas.limit(tenant, "max_delay_s")
    delay_ms = template.not_before_ms - template.created_at_ms
    if max_delay_s is not None and delay_ms > max_delay_s * 1000:
        raise BadRequest(p.DELAY_ABOVE_PLAN.format(field=p.DELAY, limit=max_delay_s))
    changes: dict[str, object] = {}
    max_retries = quotas.limit(tenant, "max_retries")
    if max_retries is not None and template.max_retries > max_retries:
        changes["max_retries"] = max_retries
    max_timeout_s = quotas.limit(tenant, "max_timeout_s")
    if max_timeout_s is not None and (template.timeout_s or 0) > max_timeout_s:
        changes["timeout_s"] = max_timeout_s
    return replace(template, **changes) if changes else template  # type: ignore[arg-type]

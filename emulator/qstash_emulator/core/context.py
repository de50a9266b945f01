"""What every part of the service shares: storage, time, ids, tenants and limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .harness.faults import Faults
from .harness.quotas import SETTINGS_CACHE_S, Quotas
from .model import LogEvent, Message, Response, SigningKeys, State
from .plan_limits import DEFAULT_PLAN
from .ports import Clock, IdSource, Store
from .recent import RecentReads
from .tenants import TenantDirectory


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int = 10 * 1024 * 1024
    max_timeout_s: int = 2 * 3600
    dedup_window_s: int = 10 * 60
    default_retries: int = 3
    plan: str = DEFAULT_PLAN


@dataclass(slots=True)
class Context:
    store: Store
    clock: Clock
    ids: IdSource
    tenants: TenantDirectory
    limits: Limits = field(default_factory=Limits)
    wake: Callable[[int | None], None] = lambda due_at_ms: None
    """Tell the scheduler about new work (due at that time; None: look at everything)."""
    quotas: Quotas = field(default_factory=Quotas)
    faults: Faults = field(default_factory=Faults)
    signing_keys: RecentReads[SigningKeys] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.quotas.clock is None:
            self.quotas.clock = self.clock
        self.signing_keys = RecentReads(self.clock.wall, SETTINGS_CACHE_S)

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def log(
        self,
        message: Message,
        state: State,
        *,
        error: str | None = None,
        next_delivery_ms: int | None = None,
        response: Response | None = None,
    ) -> None:
        event = LogEvent(
            seq=self.store.next_seq(),
            time_ms=self.now_ms(),
            state=state,
            message=message,
            error=error,
            next_delivery_ms=next_delivery_ms,
            response=response,
        )
        self.store.append_log(message.tenant, event)

    def save(self, message: Message, state: State, **changes: object) -> Message:
        """Store a copy of `message` in `state`, with other field changes."""
        updated = replace(message, state=state, **changes)  # type: ignore[arg-type]
        self.store.put_message(updated)
        return updated

    def new_dlq_id(self) -> str:
        return f"{self.now_ms()}-{self.store.next_seq()}"

    def keys(self, tenant: str) -> SigningKeys:
        return self.store.get_keys(tenant) or self.tenants.initial_keys(tenant)

    def keys_to_sign(self, tenant: str) -> SigningKeys:
        """`keys`, read at most once per SETTINGS_CACHE_S (a rotation through another instance
        sharing the store shows up that soon; one through this instance at once)."""
        return self.signing_keys.get((tenant,), lambda: self.keys(tenant))

    def set_keys(self, tenant: str, keys: SigningKeys) -> None:
        self.store.set_keys(tenant, keys)
        self.signing_keys.put((tenant,), keys)

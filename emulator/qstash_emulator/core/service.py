"""Every API operation as a method: the one object the HTTP layer talks to."""

from __future__ import annotations

from collections.abc import Sequence

from . import protocol as p
from .context import Context
from .errors import Unauthorized
from .gating.admission import Gatekeeper
from .gating.flow_control import FlowControls
from .gating.queues import Queues
from .messages.attempts import Attempts
from .messages.publish import Publisher
from .messages.queries import Queries
from .model import DeliveryRecord, SigningKeys, Tenant
from .schedules.schedules import Schedules
from .url_groups.url_groups import UrlGroups


class Service:
    """The emulated QStash: publishing, delivery bookkeeping and queries, per tenant."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.publisher = Publisher(ctx)
        self.attempts = Attempts(ctx)
        self.queries = Queries(ctx)
        self.schedules = Schedules(ctx, self.publisher)
        self.url_groups = UrlGroups(ctx)
        self.queues = Queues(ctx)
        self.flow_control = FlowControls(ctx)
        self.gates = Gatekeeper(ctx)

    def authenticate(self, token: str | None) -> Tenant:
        tenant = self.ctx.tenants.resolve(token)
        if tenant is None:
            raise Unauthorized(p.UNAUTHORIZED)
        return tenant

    def keys(self, tenant: str) -> SigningKeys:
        return self.ctx.keys(tenant)

    def rotate_keys(self, tenant: str) -> SigningKeys:
        current = self.ctx.keys(tenant)
        fresh = "sig_" + self.ctx.ids.new_id("k")[2:30]
        rotated = SigningKeys(current=current.next, next=fresh)
        self.ctx.set_keys(tenant, rotated)
        return rotated

    def deliveries(self, tenant: str) -> Sequence[DeliveryRecord]:
        return self.ctx.store.deliveries(tenant)

    def reset(self, tenant: str | None) -> None:
        """Forget everything of one tenant (or of all tenants with None)."""
        self.ctx.store.reset(tenant)
        self.ctx.signing_keys.forget(tenant)

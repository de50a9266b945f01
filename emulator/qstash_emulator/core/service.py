"""The facade: every API operation as one method. Handlers call nothing else in the core.

Each feature is built once here, handed the store areas it uses (and no other) and the
features it uses; the delivery layer reads `attempts` and `tickers` (timed work) to run what
falls due.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import protocol as p
from .context import Context
from .errors import Forbidden, NotFound, StoreUnavailable, Unauthorized
from .gating.admission import Admission
from .gating.flow_control import FlowControls, FlowInfo, GlobalParallelism
from .gating.queues import QueueInfo, Queues, QueueUpsert
from .harness.faults import Faults
from .harness.model import FaultRule, Outage
from .harness.outages import Outages, parse_outage
from .harness.quotas import QuotaReport, Quotas, burst_limited, parse_window
from .keys import SigningKeyRing
from .messages.attempts import Attempts
from .messages.browse import browse_messages, message_counts, message_events
from .messages.filters import Page
from .messages.publish import Published, Publisher, PublishRequest
from .messages.queries import Queries
from .model import (
    DeliveryRecord,
    DlqEntry,
    LogEvent,
    Message,
    MessageCounts,
    SigningKeys,
    Tenant,
)
from .plans import Plans
from .ports import Store, Ticker
from .schedules.model import Schedule, ScheduleState
from .schedules.schedules import Schedules
from .tenants import TenantDirectory
from .url_groups.model import UrlGroup
from .url_groups.url_groups import UrlGroups
from .workflows.desk import Desk
from .workflows.dlq import FailedStep, StartedRun
from .workflows.model import HistoryItem, RunPage, RunState, Waiter
from .workflows.timeline import RunDetail
from .workflows.waits import Notified
from .workflows.workflows import RunView, Workflows

Params = Mapping[str, Sequence[str]]


class Service:
    """The emulated QStash, per tenant: publishing, reading, configuration and the harness."""

    def __init__(
        self, ctx: Context, store: Store, tenants: TenantDirectory, plans: Plans,
        quotas: Quotas, faults: Faults, outages: Outages,
    ) -> None:
        self._store, self._tenants, self._plans = store, tenants, plans
        self._quotas, self._faults, self._outages = quotas, faults, outages
        gates = Admission(ctx, store.gates)
        self._keys = SigningKeyRing(store.config, tenants, ctx.ids, ctx.clock.wall)
        self._queries = Queries(ctx, gates)
        self._queues = Queues(ctx, store.gates, gates, plans, self._queries)
        self._publisher = Publisher(ctx, store.config, gates, plans, quotas, self._queues)
        self._schedules = Schedules(ctx, store.config, store.config, self._publisher, plans)
        self._url_groups = UrlGroups(store.config, ctx.clock, plans)
        self._flows = FlowControls(ctx, store.gates, gates, plans)
        self.attempts = Attempts(ctx, gates, self._keys, faults)
        self._workflows = Workflows(ctx, store.workflows, Desk(ctx, self._publisher, self._queries))
        self._publisher.hooks = self.attempts.hooks = self._workflows.book
        self.tickers: list[Ticker] = [self._schedules, gates, self._workflows.waits]

    # tenants and keys
    def resolve(self, token: str | None) -> Tenant | None:
        count = self._tenants.count
        tenant = self._tenants.resolve(token)
        if tenant is not None and self._tenants.count > count:
            self._keys.adopt(tenant.name)
        return tenant

    def authenticate(self, token: str | None) -> Tenant:
        tenant = self.resolve(token)
        if tenant is None:
            raise Unauthorized(p.UNAUTHORIZED)
        return tenant

    def control_scope(self, token: str | None, all_tenants: bool) -> str | None:
        """Whom a control call acts on: the token's tenant, or (None) every tenant, which
        only the admin token may ask for (401 without a known token, 403 without admin)."""
        if not token:
            raise Unauthorized(p.CONTROL_UNAUTHORIZED)
        if all_tenants:
            if self._tenants.admin_token is None:
                raise Forbidden(p.ADMIN_DISABLED)
            if not self._tenants.is_admin(token):
                raise Forbidden(p.ADMIN_ONLY)
            return None
        return self.authenticate(token).name

    def check_control_token(self, token: str | None) -> None:
        """Emulator-wide calls (the clock): any tenant's token or the admin token."""
        if not self._tenants.is_admin(token):
            self.authenticate(token or None)

    def known_tenants(self) -> list[str]:
        return self._tenants.known()

    def signing_keys(self, tenant: str) -> SigningKeys:
        return self._keys.keys(tenant)

    def rotate_keys(self, tenant: str) -> SigningKeys:
        return self._keys.rotate(tenant)

    # publishing
    def publish(self, tenant: str, request: PublishRequest, ip: str | None) -> list[Published]:
        return self._publisher.publish(tenant, request, ip)

    def batch(self, tenant: str, requests: list[PublishRequest], ip: str | None
              ) -> list[list[Published]]:
        return self._publisher.batch(tenant, requests, ip)

    def quota_headers(self, tenant: str) -> dict[str, str]:
        """Usage headers for an answer; none when the store cannot be read just then (the
        operation they go with has succeeded: its answer must not turn into an error)."""
        try:
            return self._quotas.headers(tenant)
        except StoreUnavailable:
            return {}

    # messages, DLQ, logs
    def get_message(self, tenant: str, message_id: str) -> Message:
        return self._queries.get_message(tenant, message_id)

    def cancel(self, tenant: str, message_id: str) -> int:
        return self._queries.cancel(tenant, message_id)

    def cancel_many(self, tenant: str, ids: list[str] | None, params: Params) -> int:
        return self._queries.cancel_many(tenant, ids, params)

    def list_dlq(self, tenant: str, params: Params) -> Page[DlqEntry]:
        return self._queries.list_dlq(tenant, params)

    def get_dlq(self, tenant: str, dlq_id: str) -> DlqEntry:
        return self._queries.get_dlq(tenant, dlq_id)

    def delete_dlq(self, tenant: str, dlq_id: str) -> None:
        self._queries.delete_dlq(tenant, dlq_id)

    def delete_dlq_many(self, tenant: str, ids: list[str]) -> int:
        return self._queries.delete_dlq_many(tenant, ids)

    def retry_dlq(self, tenant: str, entry: DlqEntry, headers: Mapping[str, str]) -> str:
        """Publish the entry's message again (new id); `upstash-*` headers override settings."""
        return self._publisher.retry_dlq(tenant, entry, headers).message_id

    def list_logs(self, tenant: str, params: Params) -> Page[LogEvent]:
        return self._queries.list_logs(tenant, params)

    def message_counts(self, tenant: str) -> MessageCounts:
        """Unfinished messages, DLQ entries and log events by state, without a scan."""
        return message_counts(self._store.messages, self._store.history, tenant)

    def browse_messages(self, tenant: str, params: Params) -> Page[Message]:
        """Stored messages newest first, filtered like the logs and by `state`, paged."""
        return browse_messages(self._store.messages, tenant, params)

    def message_events(self, tenant: str, message_id: str) -> list[LogEvent]:
        """One message's log events, oldest first: its attempts, outcomes and retry times."""
        return message_events(self._store.history, self._queries.get_message(tenant, message_id))

    def deliveries(self, tenant: str) -> Sequence[DeliveryRecord]:
        return self._store.history.deliveries(tenant)

    def delivery_tenants(self) -> list[str]:
        return self._store.history.delivery_tenants()

    # schedules
    def create_schedule(self, tenant: str, request: PublishRequest, ip: str | None) -> Schedule:
        return self._schedules.create(tenant, request, ip)

    def get_schedule(self, tenant: str, schedule_id: str) -> Schedule:
        return self._schedules.get(tenant, schedule_id)

    def list_schedules(self, tenant: str) -> list[Schedule]:
        return self._schedules.list_all(tenant)

    def schedule_run_states(self, schedule: Schedule) -> dict[str, ScheduleState]:
        return self._schedules.run_states(schedule)

    def schedule_next_runs(self, schedule: Schedule, count: int) -> list[int]:
        return self._schedules.next_runs(schedule, count)

    def delete_schedule(self, tenant: str, schedule_id: str) -> None:
        self._schedules.delete(tenant, schedule_id)

    def pause_schedule(self, tenant: str, schedule_id: str) -> None:
        self._schedules.pause(tenant, schedule_id)

    def resume_schedule(self, tenant: str, schedule_id: str) -> None:
        self._schedules.resume(tenant, schedule_id)

    # URL groups
    def add_endpoints(self, tenant: str, name: str, payload: object) -> UrlGroup:
        return self._url_groups.upsert_endpoints(tenant, name, payload)

    def remove_endpoints(self, tenant: str, name: str, payload: object) -> None:
        self._url_groups.remove_endpoints(tenant, name, payload)

    def set_url_group_headers(self, tenant: str, name: str, payload: object) -> UrlGroup:
        return self._url_groups.set_headers(tenant, name, payload)

    def get_url_group(self, tenant: str, name: str) -> UrlGroup:
        return self._url_groups.get(tenant, name)

    def list_url_groups(self, tenant: str) -> list[UrlGroup]:
        return self._url_groups.list_all(tenant)

    def delete_url_group(self, tenant: str, name: str) -> None:
        self._url_groups.delete(tenant, name)

    # queues
    def upsert_queue(self, tenant: str, request: QueueUpsert) -> None:
        self._queues.upsert(tenant, request)

    def get_queue(self, tenant: str, name: str) -> QueueInfo:
        return self._queues.get(tenant, name)

    def list_queues(self, tenant: str) -> list[QueueInfo]:
        return self._queues.list(tenant)

    def delete_queue(self, tenant: str, name: str) -> None:
        self._queues.delete(tenant, name)

    def pause_queue(self, tenant: str, name: str, paused: bool) -> None:
        self._queues.set_paused(tenant, name, paused)

    # flow control
    def get_flow(self, tenant: str, key: str) -> FlowInfo:
        return self._flows.get(tenant, key)

    def list_flows(self, tenant: str, search: str | None) -> list[FlowInfo]:
        return self._flows.list(tenant, search)

    def change_flow(self, tenant: str, key: str, action: str, params: Mapping[str, str]) -> None:
        """`pause`, `resume`, `pin`, `unpin`, `resetRate` or `reset` one flow-control key."""
        self._flows.act(tenant, key, action, params)

    def global_parallelism(self, tenant: str) -> GlobalParallelism:
        return self._flows.global_parallelism(tenant)

    # harness: quotas, outages, faults (tenant None: every tenant)
    def quota_report(self, tenant: str) -> QuotaReport:
        return self._quotas.report(tenant)

    def quota_defaults(self) -> tuple[str, dict[str, int | None]]:
        """The emulator-wide plan and limit overrides (what a tenant without settings gets)."""
        return self._plans.plan_name, dict(self._plans.overrides)

    def quota_tenants(self) -> list[str]:
        return self._quotas.tenants()

    def configure_quota(self, tenant: str | None, changes: Mapping[str, object]) -> None:
        self._plans.configure(tenant, changes)

    def exhaust_quota(self, tenant: str | None, window: object) -> None:
        chosen = parse_window(window)
        for name in [tenant] if tenant is not None else self._tenants.known():
            self._quotas.exhaust(name, chosen)

    def reset_quota(self, tenant: str | None) -> None:
        self._quotas.reset(tenant)

    def take_outage(self, tenant: str | None, path: str) -> Outage | None:
        """The outage that answers this API request instead of the API, if any."""
        return self._outages.take(tenant, path)

    def hit_burst(self, tenant: str, path: str) -> None:
        """Count one request against the burst limit (publishing is exempt); 429 past it."""
        if burst_limited(path):
            self._quotas.hit_burst(tenant)

    def start_outage(self, tenant: str | None, body: object) -> Outage:
        return self._outages.start(parse_outage(body, tenant))

    def list_outages(self, tenant: str | None) -> list[Outage]:
        return [o for o in self._outages.active() if tenant is None or o.tenant in (tenant, None)]

    def end_outage(self, tenant: str | None) -> int:
        return self._outages.end(tenant, everywhere=tenant is None)

    def add_fault(self, tenant: str | None, body: object) -> FaultRule:
        return self._faults.add(body, tenant)

    def list_faults(self, tenant: str | None) -> list[FaultRule]:
        return self._faults.rules(tenant)

    def clear_faults(self, tenant: str | None) -> int:
        return self._faults.clear(tenant)

    def remove_fault(self, tenant: str | None, rule_id: str) -> None:
        if not self._faults.remove(rule_id, tenant):
            raise NotFound(p.FAULT_NOT_FOUND)

    # workflows: runs, wait and notify, the workflow DLQ
    def workflow_history(self, tenant: str, run_id: str) -> list[HistoryItem]:
        return self._workflows.history(tenant, run_id)

    def end_workflow_run(self, tenant: str, run_id: str, *, cancel: bool,
                         response: str | None) -> None:
        self._workflows.end_run(tenant, run_id, cancel=cancel, response=response)

    def cancel_workflow_runs(self, tenant: str, ids: list[str] | None, params: Params) -> int:
        return self._workflows.cancel_runs(tenant, ids, params)

    def workflow_runs(self, tenant: str, params: Params) -> Page[RunView]:
        return self._workflows.runs(tenant, params)

    def browse_workflow_runs(self, tenant: str, params: Params) -> RunPage:
        return self._workflows.browse(tenant, params)

    def workflow_run_counts(self, tenant: str) -> dict[RunState, int]:
        return self._workflows.counts(tenant)

    def workflow_run(self, tenant: str, run_id: str) -> RunDetail:
        return self._workflows.detail(tenant, run_id)

    def wait_for_event(self, tenant: str, event_id: str, headers: Mapping[str, str],
                       payload: object) -> None:
        self._workflows.waits.wait(tenant, event_id, headers, payload)

    def notify(self, tenant: str, event_id: str, data: bytes) -> list[Notified]:
        return self._workflows.waits.notify(tenant, event_id, data)

    def notify_run(self, tenant: str, run_id: str, event_id: str, data: bytes
                   ) -> Notified | None:
        return self._workflows.waits.notify_run(tenant, run_id, event_id, data)

    def waiters(self, tenant: str, event_id: str) -> list[Waiter]:
        return self._workflows.waits.waiters(tenant, event_id)

    def workflow_dlq(self, tenant: str, params: Params) -> Page[FailedStep]:
        return self._workflows.dlq.list(tenant, params)

    def workflow_dlq_entry(self, tenant: str, dlq_id: str) -> FailedStep:
        return self._workflows.dlq.get(tenant, dlq_id)

    def delete_workflow_dlq(self, tenant: str, dlq_ids: Sequence[str]) -> int:
        return self._workflows.dlq.delete(tenant, dlq_ids)

    def resume_workflow(self, tenant: str, step: FailedStep, headers: Mapping[str, str]
                        ) -> StartedRun:
        return self._workflows.dlq.resume(tenant, step, headers)

    def restart_workflow(self, tenant: str, step: FailedStep, headers: Mapping[str, str]
                         ) -> StartedRun:
        return self._workflows.dlq.restart(tenant, step, headers)

    def retry_failure_callback(self, tenant: str, dlq_id: str) -> StartedRun:
        step = self._workflows.dlq.get(tenant, dlq_id)
        return self._workflows.dlq.retry_callback(tenant, step)

    def reset(self, tenant: str | None) -> None:
        """Forget everything of one tenant (of every tenant with None), harness state too."""
        self._store.reset(tenant)
        self._keys.forget(tenant)
        self._quotas.forget(tenant)
        self._faults.clear(tenant)
        self._outages.end(tenant, everywhere=tenant is None)

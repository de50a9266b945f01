"""URL groups ("topics"): named endpoint sets, and the fan-out of a destination to targets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from .. import protocol as p
from ..errors import BadRequest, NotFound, PreconditionFailed
from ..messages.parse import NAME_PATTERN, Destination
from ..plans import Plans
from ..ports import Clock, UrlGroupStore
from .model import GroupEndpoint, UrlGroup


@dataclass(frozen=True, slots=True)
class Target:
    """Where one message of a publish goes (a URL group gives one target per endpoint)."""

    url: str
    topic_name: str | None = None
    endpoint_name: str | None = None


def targets(store: UrlGroupStore, tenant: str, destination: Destination) -> list[Target]:
    """The destination's targets; an unknown group raises NotFound."""
    if destination.url is not None:
        return [Target(destination.url)]
    name = destination.url_group or ""
    group = store.get_url_group(tenant, name)
    if group is None:
        raise NotFound(p.TOPIC_NOT_FOUND.format(name=name))
    return [Target(e.url, group.name, e.name) for e in group.endpoints]


def with_group_defaults(
    store: UrlGroupStore, tenant: str, destination: Destination, headers: Mapping[str, str]
) -> Mapping[str, str]:
    """A publish's (lower-cased) headers under the default headers of its URL group, if any."""
    if destination.url_group is None:
        return headers
    group = store.get_url_group(tenant, destination.url_group)
    if group is None or not group.headers:
        return headers
    return {name.lower(): value for name, value in group.headers.items()} | dict(headers)


class UrlGroups:
    """Create, change, read and delete URL groups, within the plan's limits."""

    def __init__(self, url_group_store: UrlGroupStore, clock: Clock, plans: Plans) -> None:
        self.url_group_store = url_group_store
        self.clock = clock
        self.plans = plans

    def get(self, tenant: str, name: str) -> UrlGroup:
        group = self.url_group_store.get_url_group(tenant, name)
        if group is None:
            raise NotFound(p.TOPIC_NOT_FOUND.format(name=name))
        return group

    def list_all(self, tenant: str) -> list[UrlGroup]:
        return sorted(self.url_group_store.url_groups(tenant), key=lambda g: g.name)

    def delete(self, tenant: str, name: str) -> None:
        """Forget the group; messages already published to it carry on. Unknown: no error."""
        self.url_group_store.delete_url_group(tenant, name)

    def upsert_endpoints(self, tenant: str, name: str, payload: object) -> UrlGroup:
        """Add endpoints (or rename them), creating the group on first use."""
        _check_name(name)
        incoming = [_endpoint(item) for item in _items(payload)]
        existing = self.url_group_store.get_url_group(tenant, name)
        if existing is None:
            self._check_room(tenant)
        endpoints = list(existing.endpoints) if existing else []
        for endpoint in incoming:
            endpoints = [e for e in endpoints if not _same(e, endpoint)] + [endpoint]
        limit = self.plans.limit(tenant, "endpoints_per_url_group")
        if limit is not None and len(endpoints) > limit:
            raise PreconditionFailed(p.TOO_MANY_ENDPOINTS.format(
                name=name, plan=self.plans.plan(tenant).name, limit=limit))
        now_ms = self.clock.now_ms()
        group = UrlGroup(tenant, name, existing.created_at_ms if existing else now_ms, now_ms,
                         tuple(endpoints), existing.headers if existing else {})
        self.url_group_store.put_url_group(group)
        return group

    def set_headers(self, tenant: str, name: str, payload: object) -> UrlGroup:
        """Replace the group's default publish headers (`{"headers": {}}` clears them)."""
        headers = _default_headers(payload)
        group = replace(self.get(tenant, name), headers=headers, updated_at_ms=self.clock.now_ms())
        self.url_group_store.put_url_group(group)
        return group

    def _check_room(self, tenant: str) -> None:
        limit = self.plans.limit(tenant, "url_groups")
        if limit is not None and len(self.url_group_store.url_groups(tenant)) >= limit:
            raise PreconditionFailed(p.TOO_MANY_URL_GROUPS.format(
                plan=self.plans.plan(tenant).name, limit=limit))

    def remove_endpoints(self, tenant: str, name: str, payload: object) -> None:
        """Remove endpoints by url or name; removing the last one deletes the group."""
        removals = [_removal(item) for item in _items(payload)]
        group = self.get(tenant, name)
        kept = tuple(e for e in group.endpoints if not any(_matches(e, r) for r in removals))
        if not kept:
            self.url_group_store.delete_url_group(tenant, name)
            return
        self.url_group_store.put_url_group(replace(group, endpoints=kept,
                                             updated_at_ms=self.clock.now_ms()))


def _default_headers(payload: object) -> dict[str, str]:
    """`{"headers": {"Name": "value" or ["value", ...]}}` -> name -> value (lists joined)."""
    raw = payload.get("headers") if isinstance(payload, dict) else None
    if not isinstance(raw, dict):
        raise BadRequest(p.URL_GROUP_HEADERS_INVALID)
    headers = {}
    for name, value in raw.items():
        items = value if isinstance(value, list) else [value]
        if not name or not items or not all(isinstance(item, str) for item in items):
            raise BadRequest(p.URL_GROUP_HEADERS_INVALID)
        headers[name] = ", ".join(items)
    return headers


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise BadRequest(p.URL_GROUP_NAME_INVALID.format(name=name))


def _items(payload: object) -> list[dict[str, object]]:
    items = payload.get("endpoints") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise BadRequest(p.ENDPOINTS_INVALID)
    return items


def _name(item: dict[str, object]) -> str | None:
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise BadRequest(p.ENDPOINT_NAME_INVALID.format(name=name))
    return name or None


def _endpoint(item: dict[str, object]) -> GroupEndpoint:
    url = item.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or not (
        urlsplit(url).hostname
    ):
        raise BadRequest(p.ENDPOINT_URL_INVALID.format(url=url))
    return GroupEndpoint(url, _name(item))


def _removal(item: dict[str, object]) -> GroupEndpoint:
    url = item.get("url")
    if url is not None and not isinstance(url, str):
        raise BadRequest(p.ENDPOINT_URL_INVALID.format(url=url))
    name = _name(item)
    if not url and name is None:
        raise BadRequest(p.ENDPOINT_REMOVE_INVALID)
    return GroupEndpoint(url or "", name)


def _same(old: GroupEndpoint, new: GroupEndpoint) -> bool:
    return old.url == new.url or (new.name is not None and old.name == new.name)


def _matches(endpoint: GroupEndpoint, removal: GroupEndpoint) -> bool:
    """Both given: both must match; otherwise the one given."""
    url_ok = not removal.url or endpoint.url == removal.url
    name_ok = removal.name is None or endpoint.name == removal.name
    return url_ok and name_ok

"""The dashboard's pages as its navigation lists them.

A new page plugs in with three additions: a `NavEntry` here, a module
beside this one with its `@page` handler (and any `action`s), its `Route`s in `routes.py`, and
a template extending `base.html`. Everything it shows comes from `Service` methods.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NavEntry:
    key: str
    title: str
    path: str


NAV = (
    NavEntry("overview", "Overview", "/"),
    NavEntry("messages", "Messages", "/messages"),
    NavEntry("dlq", "DLQ", "/dlq"),
    NavEntry("logs", "Logs", "/logs"),
    NavEntry("workflows", "Workflow runs", "/workflows"),
    NavEntry("schedules", "Schedules", "/schedules"),
    NavEntry("queues", "Queues", "/queues"),
    NavEntry("url_groups", "URL groups", "/url-groups"),
    NavEntry("flow_control", "Flow control", "/flow-control"),
    NavEntry("keys", "Signing keys", "/keys"),
    NavEntry("harness", "Harness", "/harness"),
)


def active_entry(path: str) -> NavEntry:
    """The entry whose path is the longest prefix of `path` (relative to the dashboard)."""
    matching = [e for e in NAV if path == e.path or path.startswith(e.path.rstrip("/") + "/")]
    return max(matching, key=lambda e: len(e.path), default=NAV[0])

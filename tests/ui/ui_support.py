"""Helpers of the dashboard's tests: finding Chromium, building dashboard URLs, the settings
of an emulator on either store."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from redis_support import SKIP_REASON, redis_url, unique_prefix

from qstash_emulator.storage.redis import RedisStore

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
UI = "/__emulator__/ui"


def chromium_path() -> str | None:
    """`QSTASH_TEST_CHROMIUM`, else the system's Chromium, else None."""
    given = os.environ.get("QSTASH_TEST_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def ui_url(base: str, tenant_key: str, path: str = "/", **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"tenant": tenant_key, **params}.items())
    return f"{base}{UI}{path}?{query}"


@contextmanager
def store_settings(store: str) -> Iterator[dict[str, object]]:
    """`EmulatorServer` settings for the memory store, or for Redis under a prefix of its own
    (removed afterwards, counters included); skips without a Redis."""
    if store == "memory":
        yield {}
        return
    with redis_url() as url:
        if url is None:
            pytest.skip(SKIP_REASON)
        prefix = unique_prefix("ui")
        yield {"store": url, "store_prefix": prefix}
        leftovers = RedisStore.from_url(url, prefix=prefix)
        leftovers.reset(None)
        leftovers.client.delete(*(f"{prefix}:{name}" for name in ("seq", "order", "meta")))
        leftovers.close()

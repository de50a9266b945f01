"""Helpers of the dashboard's tests: finding Chromium, building dashboard URLs."""

from __future__ import annotations

import os
import shutil

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

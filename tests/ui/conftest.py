"""Browser tests of the dashboard: headless system Chromium driven by Playwright.

Without a Chromium (or without Playwright) these tests skip with the reason; under `CI=true`
they fail instead, so CI can never pass without running them. The browser is module-scoped:
Playwright's sync API holds an event loop while it runs, so it must be closed before tests of
other modules (some of them async) run in the same process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from ui_support import CHROMIUM_ARGS, chromium_path

from pytest_qstash.control import EmulatorControl
from qstash_emulator.core.tenants import tenant_id
from qstash_emulator.ui.frame import choice_for

MISSING = ("no Chromium to drive: install the system package `chromium` (or set "
           "QSTASH_TEST_CHROMIUM to a Chromium binary)")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the browser tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        _unavailable(MISSING)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page; any script error on it fails the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


@pytest.fixture
def tenant_key(token: str, control: EmulatorControl) -> str:
    """How the dashboard names this test's tenant in its URLs (the tenant is made known to
    the emulator first, as any API call with its token does)."""
    control.quota()
    return choice_for(tenant_id(token), exposed=False).key



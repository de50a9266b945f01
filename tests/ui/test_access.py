"""An emulator listening on a non-loopback address: its dashboard says so and asks for the
tenant's token before any action. (The test server itself still listens on loopback only;
the dashboard decides from the configured host.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from ui_support import UI

from pytest_qstash.control import EmulatorControl
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core import protocol as p
from qstash_emulator.core.tenants import DEV_USERS
from qstash_emulator.ui.frame import TOKEN_FIRST, reachable_from_elsewhere

DEV = DEV_USERS[0]


@pytest.fixture(scope="module")
def exposed() -> Iterator[EmulatorServer]:
    with EmulatorServer(host="0.0.0.0", clock="virtual", tokens=("team-secret",)) as server:
        yield server


def exhaust(server: EmulatorServer, cookies: dict[str, str] | None = None) -> str:
    answer = httpx.post(f"{server.url}{UI}/harness/quota/exhaust", cookies=cookies,
                        data={"tenant": DEV.name, "window": "daily", "back": f"{UI}/harness"})
    assert answer.status_code == 303
    return answer.headers["location"]


@pytest.mark.parametrize(("host", "reachable"), [
    ("127.0.0.1", False), ("localhost", False), ("::1", False), ("127.0.0.2", False),
    ("0.0.0.0", True), ("::", True), ("192.168.1.5", True), ("my-host.example", True),
])
def test_which_hosts_are_reachable_from_elsewhere(host: str, reachable: bool) -> None:
    assert reachable_from_elsewhere(host) is reachable


def test_an_action_without_the_token_changes_nothing(exposed: EmulatorServer) -> None:
    assert "error=" in exhaust(exposed)
    with EmulatorControl(exposed.url, DEV.token) as control:
        assert control.quota()["daily"]["used"] == 0


def test_a_wrong_token_is_refused_with_the_api_error(exposed: EmulatorServer) -> None:
    answer = httpx.post(f"{exposed.url}{UI}/sign-in", data={"token": "guess"})
    assert httpx.URL(answer.headers["location"]).params["error"] == p.UNAUTHORIZED
    assert "set-cookie" not in answer.headers


def test_the_tenant_token_allows_actions_on_that_tenant_only(exposed: EmulatorServer) -> None:
    signed = httpx.post(f"{exposed.url}{UI}/sign-in", data={"token": DEV.token})
    cookies = dict(signed.cookies)
    assert cookies and httpx.URL(signed.headers["location"]).params["tenant"] == DEV.name
    assert "notice=" in exhaust(exposed, cookies)
    with EmulatorControl(exposed.url, DEV.token) as control:
        assert control.quota()["daily"]["remaining"] == 0
        control.reset_quota()
    other = httpx.post(f"{exposed.url}{UI}/harness/quota/exhaust", cookies=cookies,
                       data={"tenant": DEV_USERS[1].name, "window": "daily"})
    assert httpx.URL(other.headers["location"]).params["error"] == TOKEN_FIRST


def test_the_page_warns_and_signs_in(page: Any, exposed: EmulatorServer) -> None:
    page.goto(f"{exposed.url}{UI}/harness")
    expect(page.get_by_role("note")).to_contain_text("other machines can reach it")
    expect(page.get_by_role("button", name="Exhaust daily quota")).to_be_disabled()
    expect(page.locator("select[name=tenant]")).not_to_contain_text("team-secret")

    page.get_by_label("token").fill(DEV.token)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("status")).to_have_text("signed in")
    page.goto(f"{exposed.url}{UI}/keys")
    expect(page.get_by_role("button", name="Rotate keys")).to_be_enabled()

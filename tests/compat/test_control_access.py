"""Who may use the control API: a token for everything but health, the admin token for
`?all=true`, and tenant ids that never reveal a token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from qstash import QStash

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.cli import settings_from_args
from qstash_emulator.control import ControlError
from qstash_emulator.core.tenants import DEFAULT_TOKEN, tenant_id
from qstash_emulator.settings import Settings, admin_token_of

TENANT_A, TENANT_B, ADMIN = "tenant-a-secret", "tenant-b-secret", "the-admin-secret"
FAULT = {"match": "http://127.0.0.1:9/x", "statuses": [500]}
CALLS = [  # every control call but health, with a body that would succeed
    ("POST", "reset", None), ("GET", "clock", None), ("POST", "clock/advance", {"seconds": 0}),
    ("GET", "deliveries", None), ("GET", "quota", None), ("PUT", "quota", {"daily": 5}),
    ("POST", "quota/exhaust", {"window": "daily"}), ("POST", "quota/reset", None),
    ("POST", "outage", {"mode": "error"}), ("GET", "outage", None), ("DELETE", "outage", None),
    ("POST", "faults", FAULT), ("GET", "faults", None), ("DELETE", "faults", None),
    ("DELETE", "faults/fault_1", None),
]
TENANT_CALLS = [call for call in CALLS if not call[1].startswith("clock")]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def local() -> Iterator[EmulatorServer]:
    with EmulatorServer(clock="virtual", any_token=True) as running:
        yield running


@pytest.fixture(scope="module")
def exposed() -> Iterator[EmulatorServer]:
    """Settings of an emulator listening on every address (served on loopback for the test)."""
    with EmulatorServer(clock="virtual", any_token=True, host="0.0.0.0") as running:
        yield running


def call(server: EmulatorServer, method: str, path: str, body: object, headers: dict[str, str],
         **params: str) -> httpx.Response:
    return httpx.request(method, f"{server.url}/__emulator__/{path}", json=body,
                         headers=headers, params=params)


@pytest.mark.parametrize(("method", "path", "body"), CALLS)
def test_every_control_call_needs_a_known_token(local: EmulatorServer, method: str, path: str,
                                                body: object) -> None:
    for headers in ({}, auth("not-a-bearer-token") | {"Authorization": "Basic abc"}):
        answer = call(local, method, path, body, headers)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"].startswith("unauthorized")
    with EmulatorServer(clock="virtual") as strict:  # no --any-token: unknown tokens refused
        answer = call(strict, method, path, body, auth("nobody"))
    assert answer.status_code == 401 and "error" in answer.json()


def test_health_needs_no_token(local: EmulatorServer) -> None:
    assert httpx.get(f"{local.url}/__emulator__/health").json()["status"] == "ok"


@pytest.mark.parametrize(("method", "path", "body"), TENANT_CALLS)
def test_a_tenant_token_cannot_act_on_every_tenant(local: EmulatorServer, method: str,
                                                   path: str, body: object) -> None:
    answer = call(local, method, path, body, auth(TENANT_A), all="true")
    assert answer.status_code == 403, answer.text
    assert answer.json() == {"error": "forbidden: ?all=true needs the admin token "
                                      "(--admin-token)"}


def test_nothing_of_another_tenant_changes_without_the_admin_token(local: EmulatorServer) -> None:
    b = QStash(TENANT_B, base_url=local.url, retry=False)
    with Endpoint() as endpoint:
        b.message.publish(url=endpoint.url, body="b's", delay=60)
        for method, path, body in TENANT_CALLS:
            call(local, method, path, body, auth(TENANT_A), all="true")
        assert len(b.log.list().logs) == 1  # not reset
        b.message.publish(url=endpoint.url, body="still publishing")  # no outage, no quota
    with EmulatorControl(local.url, TENANT_B) as control:
        assert control.faults() == [] and control.outages() == []
        control.reset()


def test_the_dev_token_is_the_admin_on_loopback(local: EmulatorServer) -> None:
    QStash(TENANT_A, base_url=local.url).message.publish(url="http://127.0.0.1:9/x", body="x",
                                                          delay=60)
    listing = call(local, "GET", "quota", None, auth(DEFAULT_TOKEN), all="true")
    assert listing.status_code == 200
    assert tenant_id(TENANT_A) in listing.json()["tenants"]
    with EmulatorControl(local.url, TENANT_B) as control:  # sends the dev token for all=true
        control.reset(all_tenants=True)


def test_tokens_are_never_echoed(local: EmulatorServer) -> None:
    with Endpoint() as endpoint:
        QStash(TENANT_A, base_url=local.url).message.publish(url=endpoint.url, body="x")
        with EmulatorControl(local.url, TENANT_A) as control:
            control.advance(0)
            answers = [control.quota(all_tenants=True), control.deliveries(all_tenants=True),
                       control.faults(all_tenants=True), control.outages(all_tenants=True)]
        page = httpx.get(f"{local.url}/__emulator__/ui/", follow_redirects=True).text
    assert TENANT_A not in json.dumps(answers) + page
    assert tenant_id(TENANT_A) in json.dumps(answers[0]) and tenant_id(TENANT_A) in page
    assert not tenant_id(TENANT_A).startswith(TENANT_A[:4])


def test_beyond_loopback_all_tenants_is_off_without_an_admin_token(
        exposed: EmulatorServer) -> None:
    answer = call(exposed, "POST", "reset", None, auth(DEFAULT_TOKEN), all="true")
    assert answer.status_code == 403
    assert answer.json()["error"].startswith("forbidden: ?all=true is off")
    assert call(exposed, "POST", "reset", None, auth(DEFAULT_TOKEN)).status_code == 200


def test_an_admin_token_acts_on_every_tenant_and_only_it() -> None:
    with EmulatorServer(clock="virtual", any_token=True, host="0.0.0.0",
                        admin_token=ADMIN) as server:
        QStash(TENANT_A, base_url=server.url).message.publish(url="http://127.0.0.1:9/x",
                                                              body="x", delay=60)
        refused = call(server, "POST", "reset", None, auth(DEFAULT_TOKEN), all="true")
        assert refused.status_code == 403
        with EmulatorControl(server.url, TENANT_B, admin_token=ADMIN) as control:
            control.advance(1)  # the clock: any tenant's token
            assert tenant_id(TENANT_A) in control.quota(all_tenants=True)["tenants"]
            control.reset(all_tenants=True)
        assert QStash(TENANT_A, base_url=server.url).log.list().logs == []
        with EmulatorControl(server.url, TENANT_B) as control, pytest.raises(ControlError) as no:
            control.reset(all_tenants=True)
        assert no.value.status == 403


def test_the_admin_token_comes_from_the_flag_or_the_environment() -> None:
    assert settings_from_args(["--admin-token", "abc"]).admin_token == "abc"
    from_env = Settings.from_env({"QSTASH_EMULATOR_ADMIN_TOKEN": "xyz"})
    assert admin_token_of(from_env) == "xyz"
    assert admin_token_of(Settings()) == DEFAULT_TOKEN
    assert admin_token_of(Settings(host="localhost")) == DEFAULT_TOKEN
    assert admin_token_of(Settings(host="0.0.0.0")) is None
    assert admin_token_of(Settings(host="0.0.0.0", admin_token="abc")) == "abc"


def test_tenant_ids_are_stable_and_dev_users_keep_their_names() -> None:
    assert tenant_id(DEFAULT_TOKEN) == "defaultUser"
    assert tenant_id("x") == tenant_id("x") != tenant_id("y")
    assert tenant_id("x").startswith("t-") and len(tenant_id("x")) == 26

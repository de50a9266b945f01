"""The QStash outage switch observed from a real httpx client (and the SDK): an error status,
a held request, a dropped connection; under uvicorn's httptools and h11 parsers alike."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from qstash import QStash
from qstash.errors import QStashError

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from pytest_qstash.serving import ServerThread
from qstash_emulator import Emulator, Settings, create_app


class H11Thread(ServerThread):
    def _config(self) -> uvicorn.Config:
        config = super()._config()
        config.http = "h11"
        return config


@pytest.fixture(scope="module")
def h11_url() -> Iterator[str]:
    app = create_app(Emulator(Settings(clock="virtual", any_token=True)))
    with H11Thread(app, lifespan="on") as running:
        yield running.url


@pytest.fixture(params=["httptools", "h11"])
def base_url(request: pytest.FixtureRequest, server: EmulatorServer) -> str:
    return server.url if request.param == "httptools" else request.getfixturevalue("h11_url")


def _publish(base: str, token: str, target: str, timeout: float = 5.0) -> httpx.Response:
    with httpx.Client(timeout=timeout) as http:
        return http.post(f"{base}/v2/publish/{target}", content=b"x",
                         headers={"Authorization": f"Bearer {token}"})


@pytest.mark.bad_signatures_expected  # "another-tenant" signs with its own keys
def test_error_mode_answers_the_status_until_deleted(
    server: EmulatorServer, token: str, control: EmulatorControl, client: QStash,
    endpoint: Endpoint,
) -> None:
    started = control.start_outage("error", status=503)
    assert started["mode"] == "error" and started["paths"] == ["/v2/"]
    answer = _publish(server.url, token, endpoint.url)
    assert answer.status_code == 503 and "outage" in answer.json()["error"]
    with pytest.raises(QStashError, match="503"):
        client.message.publish(url=endpoint.url, body="x")
    with pytest.raises(QStashError, match="503"):
        client.dlq.list()
    assert control.health()["status"] == "ok", "the control API is never affected"
    assert _publish(server.url, "another-tenant", endpoint.url).status_code == 200
    control.end_outage()
    client.message.publish(url=endpoint.url, body="back")
    control.advance(0)
    assert [r.text for r in endpoint.requests] == ["x", "back"]


def test_count_and_paths_limit_the_outage(
    server: EmulatorServer, token: str, control: EmulatorControl, client: QStash,
    endpoint: Endpoint,
) -> None:
    control.start_outage("error", status=500, count=2, paths=["/v2/publish"])
    assert client.dlq.list().messages == []
    assert [_publish(server.url, token, endpoint.url).status_code for _ in range(3)] == [
        500, 500, 200]
    assert control.outages() == []


def test_timeout_mode_holds_the_request(
    base_url: str, token: str, endpoint: Endpoint
) -> None:
    with EmulatorControl(base_url, token) as control:
        control.start_outage("timeout", seconds=30)
        with pytest.raises(httpx.ReadTimeout):
            _publish(base_url, token, endpoint.url, timeout=0.3)
        control.start_outage("timeout", seconds=0.05)
        held = _publish(base_url, token, endpoint.url)
        assert held.status_code == 504 and "outage" in held.json()["error"]
        control.end_outage()
        assert _publish(base_url, token, endpoint.url).status_code == 200
        control.reset()


def test_reset_mode_drops_the_connection(
    base_url: str, token: str, endpoint: Endpoint
) -> None:
    with EmulatorControl(base_url, token) as control:
        control.start_outage("reset")
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            _publish(base_url, token, endpoint.url)
        with httpx.Client() as http, pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            http.get(f"{base_url}/v2/keys", headers={"Authorization": f"Bearer {token}"})
        control.end_outage()
        assert _publish(base_url, token, endpoint.url).status_code == 200
        control.reset()


def test_accepted_messages_survive_an_outage_and_refused_ones_never_existed(
    server: EmulatorServer, token: str, control: EmulatorControl, client: QStash,
    endpoint: Endpoint,
) -> None:
    before = client.message.publish(url=endpoint.url, body="before", delay=60)
    control.start_outage("reset")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        _publish(server.url, token, endpoint.url_for("/refused"))
    control.advance(60)
    [delivered] = endpoint.requests
    assert delivered.header("upstash-message-id") == before.message_id, (
        "deliveries continue during the outage")
    control.end_outage()
    after = client.message.publish(url=endpoint.url, body="after")
    control.advance(0)
    assert [r.text for r in endpoint.requests] == ["before", "after"]
    created = {log.message_id for log in client.log.list().logs}
    assert created == {before.message_id, after.message_id}


@pytest.mark.parametrize("body", [
    {"mode": "meltdown"}, {"mode": "error", "status": 204}, {"mode": "timeout"},
    {"mode": "error", "count": -1}, {"mode": "error", "paths": []},
])
def test_bad_outage_bodies_answer_400(
    server: EmulatorServer, token: str, control: EmulatorControl, endpoint: Endpoint,
    body: dict[str, object],
) -> None:
    answer = httpx.post(f"{server.url}/__emulator__/outage", json=body,
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400 and answer.json()["error"]
    assert _publish(server.url, token, endpoint.url).status_code == 200

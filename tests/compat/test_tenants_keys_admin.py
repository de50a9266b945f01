"""Tenants, signing keys, header forwarding, redaction and the control API."""

from __future__ import annotations

import httpx
import pytest
from qstash import AsyncQStash, QStash, Receiver
from qstash.errors import QStashError

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.model import SigningKeys
from qstash_emulator.core.tenants import DEV_USERS


def test_keys_get_and_rotate_then_deliveries_use_the_new_key(
    client: QStash, keys: SigningKeys, endpoint: Endpoint
) -> None:
    assert (client.signing_key.get().current, client.signing_key.get().next) == (
        keys.current, keys.next)
    rotated = client.signing_key.rotate()
    assert rotated.current == keys.next and rotated.next not in (keys.current, keys.next)
    assert client.signing_key.get().current == rotated.current
    client.message.publish(url=endpoint.url, body="after rotation")
    [request] = endpoint.wait_for(1)
    signature = request.header("upstash-signature") or ""
    Receiver(rotated.current, rotated.next).verify(signature=signature, body="after rotation")
    Receiver(keys.current, keys.next).verify(signature=signature, body="after rotation")
    with pytest.raises(QStashError):
        Receiver(keys.current, keys.current).verify(signature=signature, body="after rotation")


def test_dev_users_have_the_public_dev_keys(server: EmulatorServer) -> None:
    for user in DEV_USERS:
        got = QStash(user.token, base_url=server.url).signing_key.get()
        assert (got.current, got.next) == (user.keys.current, user.keys.next)


def test_tenants_are_isolated(server: EmulatorServer, client: QStash, endpoint: Endpoint) -> None:
    result = client.message.publish(url=endpoint.url, body="mine", delay=60)
    other = QStash("another-tenant-token", base_url=server.url)
    with pytest.raises(QStashError, match="404"):
        other.message.get(result.message_id)
    assert other.log.list(filter={"message_id": result.message_id}).logs == []
    assert client.log.list(filter={"message_id": result.message_id}).logs != []


def test_token_in_query_string(server: EmulatorServer, token: str, endpoint: Endpoint,
                               control: EmulatorControl) -> None:
    response = httpx.post(
        f"{server.url}/v2/publish/{endpoint.url_for('/q')}?qstash_token={token}&keep=1",
        content=b"q",
    )
    assert response.status_code == 200
    [request] = endpoint.wait_for(1)
    assert request.url == endpoint.url_for("/q") + "?keep=1"


def test_query_parameter_config_and_header_forwarding(
    server: EmulatorServer, token: str, endpoint: Endpoint, client: QStash
) -> None:
    response = httpx.post(
        f"{server.url}/v2/publish/{endpoint.url_for('/fwd')}?upstash-retries=4&a=b",
        headers={"Authorization": f"Bearer {token}", "Upstash-Header-Forward": "true",
                 "X-From-Webhook": "kept", "Content-Type": "text/csv"},
        content=b"1,2",
    )
    message = client.message.get(response.json()["messageId"])
    assert message.max_retries == 4
    assert message.url.endswith("/fwd?a=b")
    [request] = endpoint.wait_for(1)
    assert request.header("x-from-webhook") == "kept"
    assert request.header("content-type") == "text/csv"
    assert request.header("authorization") is None


def test_single_slash_destination_is_repaired(server: EmulatorServer, token: str,
                                              endpoint: Endpoint) -> None:
    mangled = endpoint.url.replace("http://", "http:/")
    response = httpx.post(f"{server.url}/v2/publish/{mangled}/s",
                          headers={"Authorization": f"Bearer {token}"}, content=b"s")
    assert response.json()["url"] == endpoint.url_for("/s")
    endpoint.wait_for(1)


def test_redacted_fields_are_hidden_in_the_api_but_delivered(
    client: QStash, endpoint: Endpoint
) -> None:
    result = client.message.publish(
        url=endpoint.url, body="secret", headers={"Authorization": "Bearer abc", "X-Ok": "1"},
        redact={"body": True, "header": ["Authorization"]},
    )
    [request] = endpoint.wait_for(1)
    assert request.body == b"secret" and request.header("authorization") == "Bearer abc"
    message = client.message.get(result.message_id)
    assert (message.body or "").startswith("REDACTED:")
    assert message.headers is not None
    assert message.headers["Authorization"][0].startswith("REDACTED:")
    assert message.headers["X-Ok"] == ["1"]


def test_control_api_health_reset_and_deliveries(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    health = control.health()
    assert health == {"status": "ok", "version": health["version"], "store": "memory",
                      "clock": "virtual", "pid": health["pid"]}
    endpoint.respond_with([503, 200])
    result = client.message.publish(url=endpoint.url_for("/d"), body="log me")
    control.advance(13)
    records = control.deliveries(result.message_id)
    assert [(r["attempt"], r["status"]) for r in records] == [(0, 503), (1, 200)]
    assert records[0]["body"] == "log me" and records[0]["url"] == endpoint.url_for("/d")
    assert records[0]["headers"]["Upstash-Message-Id"] == result.message_id
    control.reset()
    assert control.deliveries() == []
    with pytest.raises(QStashError, match="404"):
        client.message.get(result.message_id)


@pytest.mark.anyio
async def test_async_client_covers_dlq_logs_keys_and_cancel(
    aclient: AsyncQStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(500)
    failing = await aclient.message.publish(url=endpoint.url, body="x", retries=0)
    pending = await aclient.message.publish(url=endpoint.url, body="y", delay=600)
    control.advance(1)
    [entry] = (await aclient.dlq.list()).messages
    assert (await aclient.dlq.get(entry.dlq_id)).message_id == failing.message_id
    assert (await aclient.log.list(filter={"message_id": failing.message_id})).logs
    await aclient.message.cancel(pending.message_id)
    assert await aclient.message.cancel_all() == 0
    assert await aclient.dlq.delete_many([entry.dlq_id]) == 1
    keys = await aclient.signing_key.get()
    assert (await aclient.signing_key.rotate()).current == keys.next


@pytest.mark.anyio
async def test_async_client_batch_cancel_many_and_dlq_delete(
    aclient: AsyncQStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(500, path="/bad")
    plain = await aclient.message.batch([{"url": endpoint.url_for("/ok"), "body": "a"}])
    as_json = await aclient.message.batch_json(
        [{"url": endpoint.url_for("/bad"), "body": {"b": 1}, "retries": 0},
         {"url": endpoint.url_for("/ok"), "body": {"c": 1}, "delay": 60}]
    )
    assert len(plain) == 1 and len(as_json) == 2
    assert await aclient.message.cancel_many([as_json[1].message_id]) == 1  # type: ignore[union-attr]
    control.advance(120)
    assert [r.path for r in endpoint.requests].count("/ok") == 1
    [entry] = (await aclient.dlq.list()).messages
    await aclient.dlq.delete(entry.dlq_id)
    assert (await aclient.dlq.list()).messages == []

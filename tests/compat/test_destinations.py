"""Where deliveries go and what they say about it: `--rewrite`, `--localhost-alias` (the
container mode) and `--region`, through the official SDK and a real destination."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from qstash import QStash, Receiver

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.tenants import derived_keys
from qstash_emulator.delivery.destinations import DestinationRewriter, Rewrite

PUBLIC = "https://myapp.example.com"


def _tenant(server: EmulatorServer) -> tuple[QStash, EmulatorControl, Receiver]:
    token = f"dest-{uuid.uuid4().hex}"
    keys = derived_keys(token)
    return (QStash(token, base_url=server.url, retry=False), EmulatorControl(server.url, token),
            Receiver(keys.current, keys.next))


def test_a_rewritten_destination_reaches_the_local_app_signed_for_the_public_url() -> None:
    with Endpoint() as app, EmulatorServer(
        clock="virtual", any_token=True, rewrite=(f"{PUBLIC}={app.url}",)
    ) as server:
        client, control, receiver = _tenant(server)
        result = client.message.publish_json(url=f"{PUBLIC}/api/jobs?id=7", body={"job": 7})
        control.advance(1)
        [request] = app.requests
        assert (request.path, request.query) == ("/api/jobs", "id=7")
        assert request.header("x-forwarded-host") == "myapp.example.com"
        assert request.header("x-forwarded-proto") == "https"
        receiver.verify(signature=request.header("upstash-signature") or "",
                        body=request.text, url=f"{PUBLIC}/api/jobs?id=7")
        assert client.message.get(result.message_id).url == f"{PUBLIC}/api/jobs?id=7"
        [delivery] = control.deliveries(result.message_id)
        assert delivery["url"] == f"{PUBLIC}/api/jobs?id=7" and delivery["status"] == 200
        control.close()


def test_the_localhost_alias_sends_loopback_destinations_to_another_host() -> None:
    with Endpoint(host="127.0.0.2") as host_app, EmulatorServer(
        clock="virtual", any_token=True, localhost_alias="127.0.0.2"
    ) as server:
        client, control, _ = _tenant(server)
        port = urlsplit(host_app.url).port
        published = f"http://localhost:{port}/hook"
        client.message.publish(url=published, body="from the container")
        control.advance(1)
        [request] = host_app.requests
        assert (request.path, request.text) == ("/hook", "from the container")
        assert request.header("x-forwarded-host") == f"localhost:{port}"
        control.close()


@pytest.mark.parametrize(("url", "expected"), [
    # in a container a rule's loopback target is the host's too
    ("https://myapp.example.com/api/jobs", "http://host.docker.internal:3000/api/jobs"),
    ("https://myapp.example.com.evil/x", "https://myapp.example.com.evil/x"),  # not the prefix
    ("http://localhost:9000/x", "http://host.docker.internal:9000/x"),
    ("http://127.0.0.1/x", "http://host.docker.internal/x"),
    ("https://other.example.com/x", "https://other.example.com/x"),
])
def test_rewrite_rules_then_the_alias(url: str, expected: str) -> None:
    rewriter = DestinationRewriter(
        None,  # type: ignore[arg-type]  # only the address is asked for
        [Rewrite.parse("https://myapp.example.com/=http://127.0.0.1:3000/")],
        localhost_alias="host.docker.internal")
    assert rewriter.address(url) == expected


@pytest.mark.parametrize("region", ["US-EAST-1", "EU-CENTRAL-1"])
def test_region_sets_the_upstash_region_header(region: str) -> None:
    with Endpoint() as app, EmulatorServer(clock="virtual", any_token=True,
                                           region=region) as server:
        client, control, _ = _tenant(server)
        client.message.publish(url=app.url, body="x")
        control.advance(1)
        [request] = app.requests
        assert request.header("upstash-region") == region
        control.close()


def test_an_unknown_region_or_a_bad_rewrite_is_refused() -> None:
    from qstash_emulator import Settings

    with pytest.raises(ValueError, match="unknown region"):
        Settings(region="AP-SOUTH-1")
    with pytest.raises(ValueError, match="FROM=TO"):
        Settings(rewrite=("myapp.example.com=http://127.0.0.1:3000",))

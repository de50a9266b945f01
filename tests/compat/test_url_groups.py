"""URL groups through the official SDK (sync and async): endpoints, fan-out, retries, DLQ."""

from __future__ import annotations

import httpx
import pytest
from qstash import AsyncQStash, QStash
from qstash.errors import QStashError

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer


def test_upsert_get_list_remove_delete(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    created = control.now_ms()
    client.url_group.upsert_endpoints(url_group="team", endpoints=[
        {"url": endpoint.url_for("/a"), "name": "a"}, {"url": endpoint.url_for("/b")}])
    group = client.url_group.get("team")
    assert group.name == "team" and group.created_at == group.updated_at == created
    assert [(e.url, e.name) for e in group.endpoints] == [
        (endpoint.url_for("/a"), "a"), (endpoint.url_for("/b"), None)]
    control.advance(1)
    client.url_group.upsert_endpoints(url_group="team", endpoints=[
        {"url": endpoint.url_for("/b"), "name": "b"}, {"url": endpoint.url_for("/c"), "name": "c"}])
    client.url_group.upsert_endpoints(url_group="other", endpoints=[{"url": endpoint.url}])
    group = client.url_group.get("team")
    assert [(e.url, e.name) for e in group.endpoints] == [
        (endpoint.url_for("/a"), "a"), (endpoint.url_for("/b"), "b"),
        (endpoint.url_for("/c"), "c")]
    assert group.created_at == created and group.updated_at == created + 1000
    assert [g.name for g in client.url_group.list()] == ["other", "team"]
    client.url_group.remove_endpoints(url_group="team", endpoints=[
        {"name": "a"}, {"url": endpoint.url_for("/c")}])
    assert [e.name for e in client.url_group.get("team").endpoints] == ["b"]
    client.url_group.remove_endpoints(url_group="team", endpoints=[{"name": "b"}])
    with pytest.raises(QStashError, match="topic team not found"):
        client.url_group.get("team")
    client.url_group.delete("other")
    client.url_group.delete("never-existed")
    assert client.url_group.list() == []


def test_publish_fans_out_and_only_the_failing_endpoint_retries(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(500, path="/down")
    client.url_group.upsert_endpoints(url_group="fan", endpoints=[
        {"url": endpoint.url_for("/up"), "name": "up"},
        {"url": endpoint.url_for("/down"), "name": "down"}])
    results = client.message.publish(url_group="fan", body="hello", retries=2,
                                     retry_delay="1000")
    assert isinstance(results, list)
    assert [r.url for r in results] == [endpoint.url_for("/up"), endpoint.url_for("/down")]
    up_id, down_id = (r.message_id for r in results)
    assert up_id != down_id
    control.advance(10)
    assert [r.path for r in endpoint.requests if r.path == "/up"] == ["/up"]
    assert len([r for r in endpoint.requests if r.path == "/down"]) == 3
    assert {r.header("upstash-topic-name") for r in endpoint.requests} == {"fan"}
    [entry] = client.dlq.list().messages
    assert entry.message_id == down_id and entry.url_group == "fan"
    assert entry.endpoint == "down" and entry.response_status == 500
    message = client.message.get(up_id)
    assert (message.url_group, message.endpoint, message.body) == ("fan", "up", "hello")
    logs = client.log.list(filter={"message_id": down_id}).logs
    assert {(log.url_group, log.endpoint) for log in logs} == {("fan", "down")}
    assert client.log.list(filter={"url_group": "fan"}).logs


def test_batch_element_to_a_group_is_an_array(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    client.url_group.upsert_endpoints(url_group="g", endpoints=[
        {"url": endpoint.url_for("/1")}, {"url": endpoint.url_for("/2")}])
    results = client.message.batch([
        {"url": endpoint.url_for("/solo"), "body": "s"},
        {"url_group": "g", "body": "grouped"},
    ])
    solo, grouped = results
    assert not isinstance(solo, list) and isinstance(grouped, list)
    assert [r.url for r in grouped] == [endpoint.url_for("/1"), endpoint.url_for("/2")]
    control.advance(1)
    assert sorted(r.path for r in endpoint.requests) == ["/1", "/2", "/solo"]


def test_deduplication_applies_per_endpoint(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    client.url_group.upsert_endpoints(url_group="d", endpoints=[
        {"url": endpoint.url_for("/1")}, {"url": endpoint.url_for("/2")}])
    first = client.message.publish(url_group="d", body="x", deduplication_id="once")
    again = client.message.publish(url_group="d", body="x", deduplication_id="once")
    assert isinstance(first, list) and isinstance(again, list)
    assert len({r.message_id for r in first}) == 2
    assert [r.message_id for r in again] == [r.message_id for r in first]
    assert all(r.deduplicated for r in again) and not any(r.deduplicated for r in first)
    control.advance(1)
    assert sorted(r.path for r in endpoint.requests) == ["/1", "/2"]


@pytest.mark.anyio
async def test_async_client_covers_every_url_group_method(
    aclient: AsyncQStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    await aclient.url_group.upsert_endpoints(url_group="ag", endpoints=[
        {"url": endpoint.url_for("/x"), "name": "x"}, {"url": endpoint.url_for("/y")}])
    assert [e.name for e in (await aclient.url_group.get("ag")).endpoints] == ["x", None]
    assert [g.name for g in await aclient.url_group.list()] == ["ag"]
    results = await aclient.message.publish_json(url_group="ag", body={"k": 1})
    assert isinstance(results, list) and len(results) == 2
    control.advance(1)
    assert sorted(r.path for r in endpoint.requests) == ["/x", "/y"]
    await aclient.url_group.remove_endpoints(url_group="ag", endpoints=[{"name": "x"}])
    assert [e.url for e in (await aclient.url_group.get("ag")).endpoints] == [
        endpoint.url_for("/y")]
    await aclient.url_group.delete("ag")
    assert await aclient.url_group.list() == []
    with pytest.raises(QStashError, match="404"):
        await aclient.url_group.get("ag")


# --- bad input: status, error shape, nothing created -------------------------------------


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"endpoints": [{"url": "ftp://x/y"}]}', "invalid endpoint url"),
        (b'{"endpoints": [{"url": "http://127.0.0.1:9/ok"}, {"name": "no-url"}]}',
         "invalid endpoint url"),
        (b'{"endpoints": []}', "endpoints"),
        (b'{"endpoints": "http://127.0.0.1:9/ok"}', "endpoints"),
        (b"[1]", "endpoints"),
        (b"{not json", "invalid json"),
        (b'{"endpoints": [{"url": "http://127.0.0.1:9/ok", "name": 5}]}', "endpoint name"),
    ],
)
def test_bad_endpoints_are_refused_and_nothing_is_created(
    server: EmulatorServer, token: str, client: QStash, body: bytes, text: str
) -> None:
    response = httpx.post(f"{server.url}/v2/topics/grp/endpoints", content=body,
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"} and text in response.json()["error"].lower()
    assert client.url_group.list() == []


def test_bad_group_name_and_bad_removal(
    server: EmulatorServer, token: str, client: QStash
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    response = httpx.post(f"{server.url}/v2/topics/b%20d/endpoints", headers=auth,
                          json={"endpoints": [{"url": "http://127.0.0.1:9/a"}]})
    assert response.status_code == 400 and "url group name" in response.json()["error"]
    client.url_group.upsert_endpoints(url_group="keep", endpoints=[{"url": "http://127.0.0.1:9/a"}])
    response = httpx.request("DELETE", f"{server.url}/v2/topics/keep/endpoints", headers=auth,
                             json={"endpoints": [{"url": "http://127.0.0.1:9/a"}, {}]})
    assert response.status_code == 400 and "url or a name" in response.json()["error"]
    assert len(client.url_group.get("keep").endpoints) == 1
    response = httpx.request("DELETE", f"{server.url}/v2/topics/nope/endpoints", headers=auth,
                             json={"endpoints": [{"name": "x"}]})
    assert response.status_code == 404
    assert response.json() == {"error": "topic nope not found"}


def test_unknown_group_on_get_publish_and_batch(
    server: EmulatorServer, token: str, client: QStash, endpoint: Endpoint
) -> None:
    with pytest.raises(QStashError, match=r"404.*topic ghost not found"):
        client.url_group.get("ghost")
    with pytest.raises(QStashError, match=r"404.*topic ghost not found"):
        client.message.publish(url_group="ghost", body="x")
    with pytest.raises(QStashError, match="404"):
        client.message.batch([{"url": endpoint.url, "body": "a"},
                              {"url_group": "ghost", "body": "b"}])
    assert client.log.list().logs == []


def test_more_groups_or_endpoints_than_the_plan_allows_answer_412(
    server: EmulatorServer, token: str, client: QStash
) -> None:
    many = [{"url": f"http://127.0.0.1:9/{n}"} for n in range(101)]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        too_many = http.post("/v2/topics/big/endpoints", json={"endpoints": many})
        assert too_many.status_code == 412
        assert "the payg plan allows 100" in too_many.json()["error"]
        assert http.get("/v2/topics").json() == []
        for n in range(100):
            response = http.post(f"/v2/topics/g{n}/endpoints",
                                 json={"endpoints": [{"url": "http://127.0.0.1:9/a"}]})
            assert response.status_code == 200
        over = http.post("/v2/topics/g100/endpoints",
                         json={"endpoints": [{"url": "http://127.0.0.1:9/a"}]})
        grow = http.post("/v2/topics/g5/endpoints", json={"endpoints": many[1:100]})
        burst = http.post("/v2/topics/g6/endpoints", json={"endpoints": many[1:101]})
    assert over.status_code == 412
    assert over.json() == {"error": "too many url groups: the payg plan allows 100"}
    assert grow.status_code == 200 and len(client.url_group.get("g5").endpoints) == 100
    assert burst.status_code == 412 and len(client.url_group.get("g6").endpoints) == 1
    assert len(client.url_group.list()) == 100


def test_default_headers_of_a_url_group_apply_to_every_publish(
    client: QStash, endpoint: Endpoint, control: EmulatorControl, server: EmulatorServer,
    token: str,
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    client.url_group.upsert_endpoints(url_group="hooks", endpoints=[{"url": endpoint.url}])
    answer = httpx.patch(f"{server.url}/v2/topics/hooks", headers=auth, json={"headers": {
        "Upstash-Forward-X-Api-Key": "secret", "Upstash-Retries": ["0"],
        "Upstash-Forward-X-Source": "group"}})
    assert answer.status_code == 200
    shown = httpx.get(f"{server.url}/v2/topics/hooks", headers=auth).json()["headers"]
    assert shown == {"Upstash-Forward-X-Api-Key": ["secret"], "Upstash-Retries": ["0"],
                     "Upstash-Forward-X-Source": ["group"]}
    endpoint.respond_with(500)
    [result] = client.message.publish(url_group="hooks", body="x",  # type: ignore[misc]
                                      headers={"X-Source": "publisher"})
    control.advance(3600)
    [request] = endpoint.requests  # Upstash-Retries 0 from the group: no retry
    assert request.header("x-api-key") == "secret"
    assert request.header("x-source") == "publisher"  # the publish's own header wins
    assert client.message.get(result.message_id).max_retries == 0
    client.url_group.upsert_endpoints(url_group="hooks",
                                      endpoints=[{"url": endpoint.url_for("/2")}])
    assert "headers" in httpx.get(f"{server.url}/v2/topics/hooks", headers=auth).json()
    httpx.patch(f"{server.url}/v2/topics/hooks", headers=auth, json={"headers": {}})
    assert "headers" not in httpx.get(f"{server.url}/v2/topics/hooks", headers=auth).json()


def test_default_headers_of_an_unknown_group_or_in_a_bad_shape_are_refused(
    server: EmulatorServer, token: str, client: QStash, endpoint: Endpoint,
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    missing = httpx.patch(f"{server.url}/v2/topics/nope", headers=auth, json={"headers": {}})
    assert (missing.status_code, missing.json()) == (404, {"error": "topic nope not found"})
    client.url_group.upsert_endpoints(url_group="g", endpoints=[{"url": endpoint.url}])
    for body in ({"headers": {"X": 1}}, {"headers": ["X"]}, {}):
        bad = httpx.patch(f"{server.url}/v2/topics/g", headers=auth, json=body)
        assert bad.status_code == 400 and "headers" in bad.json()["error"]
    assert "headers" not in httpx.get(f"{server.url}/v2/topics/g", headers=auth).json()

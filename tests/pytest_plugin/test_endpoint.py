from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from pytest_qstash.endpoint import Endpoint, RecordedRequest

CURRENT_KEY = "sig_current_signing_key_for_the_tests"
NEXT_KEY = "sig_next_signing_key_for_the_tests_00"


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with Endpoint() as ep:
        yield ep


@pytest.fixture
def signed_endpoint() -> Iterator[Endpoint]:
    with Endpoint(signing_keys=(CURRENT_KEY, NEXT_KEY)) as ep:
        yield ep


def make_signature(key: str, url: str, body: bytes) -> str:
    now = int(time.time())
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode()
    claims = {
        "iss": "Upstash",
        "sub": url,
        "iat": now,
        "nbf": 0,
        "exp": now + 300,
        "jti": "jwt_x",
        "body": digest,
    }
    return jwt.encode(claims, key, algorithm="HS256")


# -- basics ----------------------------------------------------------------------------


def test_records_any_method_and_path(endpoint: Endpoint) -> None:
    with httpx.Client() as client:
        assert client.post(endpoint.url_for("/hook?a=1&b=2"), content=b"hi").text == "ok"
        client.put(endpoint.url_for("deep/nested/path"), json={"x": 1})
        client.patch(endpoint.url_for("/p"))
        client.delete(endpoint.url_for("/d"))
        client.get(endpoint.url)
    reqs = endpoint.requests
    assert [(r.method, r.path) for r in reqs] == [
        ("POST", "/hook"),
        ("PUT", "/deep/nested/path"),
        ("PATCH", "/p"),
        ("DELETE", "/d"),
        ("GET", "/"),
    ]
    first = reqs[0]
    assert first.url == f"{endpoint.url}/hook?a=1&b=2"
    assert first.query == "a=1&b=2"
    assert first.body == b"hi" and first.text == "hi"
    assert first.status == 200
    assert first.signature_valid is None and first.signature_error is None
    assert reqs[1].json() == {"x": 1}
    assert reqs[1].header("Content-Type") == "application/json"
    assert first.received_at <= reqs[1].received_at


def test_url_for_joins_with_one_slash(endpoint: Endpoint) -> None:
    assert not endpoint.url.endswith("/")
    assert endpoint.url_for("/a") == endpoint.url + "/a"
    assert endpoint.url_for("a/b") == endpoint.url + "/a/b"


def test_requests_is_a_snapshot(endpoint: Endpoint) -> None:
    httpx.post(endpoint.url_for("/x"))
    snapshot = endpoint.requests
    snapshot.clear()
    assert len(endpoint.requests) == 1


def test_binary_body_does_not_crash(signed_endpoint: Endpoint) -> None:
    body = bytes(range(256))
    url = signed_endpoint.url_for("/bin")
    headers = {"Upstash-Signature": make_signature(CURRENT_KEY, url, body)}
    assert httpx.post(url, content=body, headers=headers).status_code == 200
    (req,) = signed_endpoint.requests
    assert req.body == body
    assert "\ufffd" in req.text
    assert req.signature_valid is True


def test_repeated_headers_are_joined(endpoint: Endpoint) -> None:
    httpx.post(endpoint.url, headers=[("X-Multi", "a"), ("x-multi", "b")])
    assert endpoint.requests[0].header("x-multi") == "a, b"


def test_two_endpoints_get_distinct_ports() -> None:
    with Endpoint() as one, Endpoint() as two:
        assert one.port != two.port
        httpx.post(one.url_for("/only-one"))
        assert len(one.requests) == 1 and two.requests == []


# -- answer rules ----------------------------------------------------------------------


def test_status_sequence_then_last_repeats(endpoint: Endpoint) -> None:
    endpoint.respond_with([500, 500, 200], body="done", headers={"X-Rule": "seq"})
    with httpx.Client() as client:
        responses = [client.post(endpoint.url_for("/hook")) for _ in range(5)]
    assert [r.status_code for r in responses] == [500, 500, 200, 200, 200]
    assert responses[0].text == "done"
    assert responses[0].headers["x-rule"] == "seq"
    assert [r.status for r in endpoint.requests] == [500, 500, 200, 200, 200]


def test_single_status(endpoint: Endpoint) -> None:
    endpoint.respond_with(418)
    assert httpx.get(endpoint.url).status_code == 418
    assert httpx.get(endpoint.url).status_code == 418


def test_path_rule_beats_global_rule(endpoint: Endpoint) -> None:
    endpoint.respond_with(503)
    endpoint.respond_with([201], path="special")
    with httpx.Client() as client:
        assert client.post(endpoint.url_for("/special")).status_code == 201
        assert client.post(endpoint.url_for("/other")).status_code == 503
        assert client.post(endpoint.url_for("/special")).status_code == 201


def test_handler_sync_and_async(endpoint: Endpoint) -> None:
    def sync_handler(req: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        return 202, {"X-Echo": req.method}, req.body[::-1]

    async def async_handler(req: RecordedRequest) -> int:
        return 409

    endpoint.set_handler(sync_handler)
    endpoint.set_handler(async_handler, path="/async")
    with httpx.Client() as client:
        sync = client.put(endpoint.url_for("/sync"), content=b"abc")
        asyn = client.post(endpoint.url_for("/async"))
    assert (sync.status_code, sync.headers["x-echo"], sync.content) == (202, "PUT", b"cba")
    assert asyn.status_code == 409
    assert [r.status for r in endpoint.requests] == [202, 409]


def test_raising_handler_answers_500(endpoint: Endpoint) -> None:
    def broken(req: RecordedRequest) -> int:
        raise ValueError("nope")

    endpoint.set_handler(broken)
    response = httpx.post(endpoint.url_for("/x"))
    assert response.status_code == 500
    assert "nope" in response.text
    assert endpoint.requests[0].status == 500


def test_delay_makes_client_time_out(endpoint: Endpoint) -> None:
    endpoint.delay(0.3, path="/slow")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(endpoint.url_for("/slow"), timeout=0.05)
    assert httpx.post(endpoint.url_for("/fast"), timeout=0.25).status_code == 200
    assert {r.path for r in endpoint.wait_for(2, timeout=1)} == {"/slow", "/fast"}


def test_reset_clears_requests_and_rules(endpoint: Endpoint) -> None:
    endpoint.respond_with(500)
    httpx.post(endpoint.url)
    endpoint.reset()
    assert endpoint.requests == []
    assert httpx.post(endpoint.url).status_code == 200


# -- waiting ---------------------------------------------------------------------------


def test_wait_for_blocks_until_requests_arrive(endpoint: Endpoint) -> None:
    def send_later() -> None:
        time.sleep(0.05)
        with httpx.Client() as client:
            client.post(endpoint.url_for("/other"))
            client.post(endpoint.url_for("/hook"), content=b"1")
            client.post(endpoint.url_for("/hook"), content=b"2")

    sender = threading.Thread(target=send_later)
    sender.start()
    try:
        got = endpoint.wait_for(2, timeout=3, path="/hook")
    finally:
        sender.join()
    assert [r.body for r in got] == [b"1", b"2"]


def test_wait_for_timeout_message(endpoint: Endpoint) -> None:
    httpx.post(endpoint.url_for("/elsewhere"), content=b"payload")
    with pytest.raises(AssertionError) as info:
        endpoint.wait_for(1, timeout=0.1, path="/hook")
    message = str(info.value)
    assert "expected at least 1 request(s) to /hook" in message
    assert "got 0" in message
    assert "POST /elsewhere -> 200" in message
    assert "payload" in message


def test_wait_for_timeout_when_nothing_arrived(endpoint: Endpoint) -> None:
    with pytest.raises(AssertionError, match="no requests were recorded"):
        endpoint.wait_for(1, timeout=0.05)


# -- assert_delivered ------------------------------------------------------------------


def test_assert_delivered_matches(endpoint: Endpoint) -> None:
    with httpx.Client() as client:
        client.post(endpoint.url_for("/hook"), json={"a": 1}, headers={"X-A": "c"})
        client.post(endpoint.url_for("/hook"), content=b"raw")
    got = endpoint.assert_delivered(body={"a": 1}, headers={"x-a": "c"}, method="post")
    assert got[0].path == "/hook"
    endpoint.assert_delivered(body="raw", path="/hook")
    endpoint.assert_delivered(body=b"raw")
    endpoint.assert_delivered(path="/hook", times=2)
    endpoint.assert_delivered(path="hook", times=None)
    endpoint.assert_delivered(path="/never", times=0)


def test_assert_delivered_can_wait(endpoint: Endpoint) -> None:
    timer = threading.Timer(0.05, lambda: httpx.post(endpoint.url_for("/late"), content=b"x"))
    timer.start()
    try:
        endpoint.assert_delivered(path="/late", body=b"x", timeout=3)
    finally:
        timer.join()


def test_assert_delivered_reports_near_misses(endpoint: Endpoint) -> None:
    with httpx.Client() as client:
        client.post(endpoint.url_for("/hook"), content=b"actual", headers={"X-A": "b"})
        client.put(endpoint.url_for("/other"), content=json.dumps({"k": 2}))
    with pytest.raises(AssertionError) as info:
        endpoint.assert_delivered(body=b"wanted", headers={"X-A": "c"}, method="POST")
    message = str(info.value)
    assert "found 0 among 2 recorded" in message
    assert "POST /hook: body differs: got b'actual' want b'wanted'" in message
    assert "header x-a: got 'b' want 'c'" in message
    assert "PUT /other: method: got PUT want POST" in message
    assert "header x-a: got None want 'c'" in message


def test_assert_delivered_json_and_count_mismatch(endpoint: Endpoint) -> None:
    with httpx.Client() as client:
        client.post(endpoint.url_for("/j"), json={"k": 1})
        client.post(endpoint.url_for("/j"), json={"k": 1})
        client.post(endpoint.url_for("/t"), content=b"not json")
    with pytest.raises(AssertionError) as info:
        endpoint.assert_delivered(body={"k": 1})
    message = str(info.value)
    assert "expected exactly 1" in message and "found 2" in message
    assert "POST /j: matches" in message
    assert "POST /t: body is not JSON" in message
    with pytest.raises(AssertionError, match="JSON body differs"):
        endpoint.assert_delivered(body={"k": 2}, path="/j", times=None)


def test_near_miss_output_is_truncated(endpoint: Endpoint) -> None:
    with httpx.Client() as client:
        for _ in range(25):
            client.post(endpoint.url_for("/big"), content=b"z" * 300)
    with pytest.raises(AssertionError) as info:
        endpoint.assert_delivered(body=b"small")
    message = str(info.value)
    assert "... and 5 more" in message
    assert len(message) < 10_000


# -- signatures ------------------------------------------------------------------------


def _post_signed(endpoint: Endpoint, key: str, body: bytes, path: str = "/hook?x=1") -> None:
    url = endpoint.url_for(path)
    headers = {"Upstash-Signature": make_signature(key, url, body)}
    assert httpx.post(url, content=body, headers=headers).status_code == 200


def test_signature_valid_with_current_key(signed_endpoint: Endpoint) -> None:
    _post_signed(signed_endpoint, CURRENT_KEY, b'{"hello":"world"}')
    (req,) = signed_endpoint.requests
    assert req.signature_valid is True
    assert req.signature_error is None


def test_signature_valid_with_next_key(signed_endpoint: Endpoint) -> None:
    _post_signed(signed_endpoint, NEXT_KEY, b"rotated")
    assert signed_endpoint.requests[0].signature_valid is True


def test_signature_invalid_with_wrong_key(signed_endpoint: Endpoint) -> None:
    _post_signed(signed_endpoint, "sig_some_other_key_that_is_not_configured", b"payload")
    (req,) = signed_endpoint.requests
    assert req.signature_valid is False
    assert req.signature_error


def test_signature_invalid_when_body_tampered(signed_endpoint: Endpoint) -> None:
    url = signed_endpoint.url_for("/hook")
    headers = {"Upstash-Signature": make_signature(CURRENT_KEY, url, b"original")}
    httpx.post(url, content=b"tampered", headers=headers)
    assert signed_endpoint.requests[0].signature_valid is False


def test_signature_none_without_header_or_keys(
    signed_endpoint: Endpoint, endpoint: Endpoint
) -> None:
    httpx.post(signed_endpoint.url_for("/hook"), content=b"unsigned")
    assert signed_endpoint.requests[0].signature_valid is None
    _post_signed(endpoint, CURRENT_KEY, b"signed but no keys")
    assert endpoint.requests[0].signature_valid is None

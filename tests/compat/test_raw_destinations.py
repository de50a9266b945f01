"""A destination is kept byte for byte as published: delivered, logged and listed with its
percent-encoding untouched (`%20`, `%2F`), as a real destination reads the request target."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from pytest_qstash.control import EmulatorControl
from pytest_qstash.server import EmulatorServer

PATHS = ["/files/report%202024.pdf", "/a%2Fb", "/mixed/%41%7e%2f?x=1%202&y=a%2Fb",
         "/caf%C3%A9/%25"]


class RawTargets(ThreadingHTTPServer):
    """A destination recording each request target exactly as it arrived on the wire."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Recorder)
        self.targets: list[str] = []
        self.status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Recorder(BaseHTTPRequestHandler):
    server: RawTargets

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.targets.append(self.path)
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def destination() -> Iterator[RawTargets]:
    server = RawTargets()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def http(server: EmulatorServer, token: str, control: EmulatorControl) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.mark.parametrize("path", PATHS)
def test_publish_delivers_and_shows_the_path_as_published(
        http: httpx.Client, control: EmulatorControl, destination: RawTargets, path: str) -> None:
    url = destination.url + path
    published = http.post(f"/v2/publish/{url}", content=b"x").json()
    assert published["url"] == url
    control.advance(0)
    assert destination.targets == [path]
    message_id = published["messageId"]
    assert [d["url"] for d in control.deliveries(message_id)] == [url]
    assert {e["url"] for e in http.get("/v2/events").json()["events"]} == {url}


def test_the_dlq_keeps_the_path(http: httpx.Client, control: EmulatorControl,
                                destination: RawTargets) -> None:
    destination.status = 500
    url = destination.url + PATHS[0]
    http.post(f"/v2/publish/{url}", content=b"x", headers={"Upstash-Retries": "0"})
    control.advance(0)
    [entry] = http.get("/v2/dlq").json()["messages"]
    assert entry["url"] == url
    message = http.get(f"/v2/messages/{entry['messageId']}")
    assert message.status_code == 404 or message.json()["url"] == url
    http.post(f"/v2/dlq/retry/{entry['dlqId']}")
    control.advance(0)
    assert destination.targets == [PATHS[0], PATHS[0]]


def test_enqueue_and_schedules_keep_the_path(http: httpx.Client, control: EmulatorControl,
                                             destination: RawTargets) -> None:
    url = destination.url + "/q/a%2Fb%20c"
    queued = http.post(f"/v2/enqueue/my%2Dqueue/{url}", content=b"x").json()
    assert queued["url"] == url
    control.advance(0)
    assert destination.targets == ["/q/a%2Fb%20c"]
    scheduled = http.post(f"/v2/schedules/{url}", headers={"Upstash-Cron": "* * * * *"})
    schedule = http.get(f"/v2/schedules/{scheduled.json()['scheduleId']}").json()
    assert schedule["destination"] == url


def test_a_destination_encoded_whole_is_decoded_once(http: httpx.Client,
                                                      control: EmulatorControl,
                                                      destination: RawTargets) -> None:
    whole = (destination.url + "/x").replace(":", "%3A").replace("/", "%2F")
    published = http.post(f"/v2/publish/{whole}", content=b"x").json()
    assert published["url"] == destination.url + "/x"
    control.advance(0)
    assert destination.targets == ["/x"]


def test_the_official_sdk_keeps_the_path(client: object, control: EmulatorControl,
                                         destination: RawTargets) -> None:
    from qstash import QStash

    assert isinstance(client, QStash)
    client.message.publish(url=destination.url + PATHS[0], body="x")
    control.advance(0)
    assert destination.targets == [PATHS[0]]

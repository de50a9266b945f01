"""Every dashboard page renders in the browser, with something to show, on the memory store
and on the Redis store: one emulator per store, one tenant filled through the official SDK."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from qstash import QStash
from qstash.message import FlowControl
from ui_support import UI, store_settings, ui_url

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.tenants import tenant_id
from qstash_emulator.ui.frame import choice_for
from qstash_emulator.ui.nav import NAV


@dataclass(frozen=True)
class Filled:
    """An emulator with one tenant holding a bit of everything."""

    url: str
    key: str
    message_id: str
    dlq_id: str
    schedule_id: str


RUN_ID = "wfr_pages"


@pytest.fixture(scope="module", params=["memory", "redis"])
def filled(request: pytest.FixtureRequest) -> Iterator[Filled]:
    with store_settings(request.param) as settings, Endpoint() as endpoint, \
            EmulatorServer(clock="virtual", any_token=True, **settings) as server:
        token = f"pages-{uuid.uuid4().hex}"
        with EmulatorControl(server.url, token) as control:
            yield _fill(server.url, token, control, endpoint)
            control.reset()


def _fill(url: str, token: str, control: EmulatorControl, endpoint: Endpoint) -> Filled:
    client = QStash(token, base_url=url, retry=False)
    control.add_fault(endpoint.url_for("/dead"), statuses=[500])
    dead = client.message.publish(url=endpoint.url_for("/dead"), body="dead", retries=0)
    client.message.publish(url=endpoint.url_for("/ok"), body='{"ok": true}', label="demo")
    later = client.message.publish(
        url=endpoint.url_for("/later"), body="later", delay="1h",
        flow_control=FlowControl(key="tenant-key", parallelism=2))
    client.queue.upsert("orders", parallelism=2)
    client.message.enqueue(queue="orders", url=endpoint.url_for("/queued"), body="q")
    client.url_group.upsert_endpoints(url_group="team", endpoints=[
        {"url": endpoint.url_for("/a"), "name": "a"}])
    schedule_id = client.schedule.create(destination=endpoint.url_for("/cron"), cron="0 * * * *")
    httpx.post(f"{url}/v2/publish/{endpoint.url_for('/workflow')}", content=b'{"order": 7}',
               headers={"Authorization": f"Bearer {token}", "Upstash-Workflow-RunId": RUN_ID,
                        "Upstash-Workflow-Init": "true"}).raise_for_status()  # a run starts
    control.start_outage("error", status=503, paths=["/v2/publish"])
    control.advance(0)  # returns once the due attempts were made
    dlq = client.dlq.list().messages
    assert [entry.message_id for entry in dlq] == [dead.message_id]
    return Filled(url, choice_for(tenant_id(token), exposed=False).key, later.message_id,
                  dlq[0].dlq_id, schedule_id)


EXPECTED = {
    "overview": ("Deliveries / s", "Next due"),
    "messages": ("CREATED", "/later"),
    "dlq": ("500", "/dead"),
    "logs": ("DELIVERED", "FAILED"),
    "schedules": ("0 * * * *", "/cron"),
    "queues": ("orders",),
    "url_groups": ("team", "/a"),
    "flow_control": ("tenant-key",),
    "keys": ("Current", "Rotate keys"),
    "harness": ("503", "/dead", "Exhaust daily quota"),
    "workflows": (RUN_ID, "RUN_STARTED", "/workflow"),
}


@pytest.mark.parametrize("entry", NAV, ids=lambda e: e.key)
def test_each_page_renders_what_the_tenant_holds(page: Any, filled: Filled, entry: Any) -> None:
    response = page.goto(ui_url(filled.url, filled.key, entry.path))
    assert response.status == 200
    expect(page.locator("nav a[aria-current=page]")).to_have_text(entry.title)
    for text in EXPECTED[entry.key]:
        expect(page.locator("main")).to_contain_text(text)


@pytest.mark.parametrize("path", ["/messages/{message_id}", "/dlq/{dlq_id}", "/workflows/{run_id}"])
def test_detail_pages_render(page: Any, filled: Filled, path: str) -> None:
    shown = path.format(message_id=filled.message_id, dlq_id=filled.dlq_id, run_id=RUN_ID)
    response = page.goto(ui_url(filled.url, filled.key, shown))
    assert response.status == 200
    expect(page.locator("h1")).to_contain_text(shown.rsplit("/", 1)[1])


def test_the_root_leads_to_the_overview(page: Any, filled: Filled) -> None:
    page.goto(filled.url + "/")
    assert page.url == f"{filled.url}{UI}/"
    expect(page.locator("select[name=tenant] option[selected]")).to_have_text("defaultUser")

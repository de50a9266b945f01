"""The workflow runs pages in a real browser, with a real workflow: a FastAPI app on the official
`upstash-workflow` SDK run by the emulator, on the memory store and on Redis. What a developer
sees appear by itself (the run, its steps, a waiter) and what the Cancel button does. The
Python SDK has no `waitForEvent`: one test makes its call itself, another runs the JS SDK
(skipped without node and `npm ci --prefix tests/workflow/js`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from qstash import AsyncQStash, QStash, Receiver
from ui_support import store_settings, ui_url
from workflow.node_app import NodeApp, missing_node
from workflow.workflow_apps import Journal, order_app
from workflow.workflow_support import Runs

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from pytest_qstash.serving import ServerThread
from qstash_emulator.core.tenants import derived_keys, tenant_id
from qstash_emulator.ui.format import when
from qstash_emulator.ui.frame import choice_for

WEEK_S = 7 * 86400
HOUR_S = 3600


@pytest.fixture(scope="module", params=["memory", "redis"])
def emulator_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with store_settings(request.param) as settings, \
            EmulatorServer(clock="virtual", any_token=True, **settings) as server:
        yield server.url


@dataclass
class Shop:
    """One test's tenant on the emulator, with the order workflow app served for it."""

    base: str
    token: str
    key: str
    order_url: str
    journal: Journal
    client: QStash
    control: EmulatorControl
    runs: Runs
    quote: Endpoint

    def start(self) -> str:
        """Start a run the way an app does (a publish to the workflow's URL); its run id once
        its first steps ran."""
        self.client.message.publish_json(
            url=self.order_url, body={"item": "book", "quote_url": self.quote.url_for("/quote")})
        self.control.advance(0)
        [run_id] = self.journal.run_ids
        return run_id

    def page(self, path: str = "/workflows", **params: str) -> str:
        return ui_url(self.base, self.key, path, **params)

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"})


@pytest.fixture
def shop(emulator_url: str) -> Iterator[Shop]:
    """Tests ask for it before `page`, so that the page closes before the tenant is reset."""
    token = f"wf-ui-{uuid.uuid4().hex}"
    keys = derived_keys(token)
    journal = Journal()
    app_client = AsyncQStash(token, base_url=emulator_url, retry=False)
    app = order_app(app_client, Receiver(keys.current, keys.next), journal)
    with ServerThread(app, lifespan="off") as served, Endpoint() as quote, \
            EmulatorControl(emulator_url, token) as control, Runs(emulator_url, token) as runs:
        quote.respond_with(200, path="/quote", body=json.dumps({"quote": "Q-7"}),
                           headers={"Content-Type": "application/json"})
        control.quota()  # the tenant is known to the dashboard from here on
        yield Shop(emulator_url, token, choice_for(tenant_id(token), exposed=False).key,
                   f"{served.url}/order", journal, QStash(token, base_url=emulator_url,
                                                          retry=False), control, runs, quote)
        control.reset()


def step(page: Any, name: str) -> Any:
    return page.locator(f'tr[data-step="{name}"]')


def test_a_run_appears_live_and_its_steps_fill_the_timeline(shop: Shop, page: Any) -> None:
    page.goto(shop.page())
    expect(page.get_by_text("No workflow runs match.")).to_be_visible()
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "on")
    page.evaluate("window.stillTheSamePage = true")

    run_id = shop.start()

    row = page.locator(f'tr[data-run-id="{run_id}"]')
    expect(row).to_contain_text("RUN_STARTED")
    expect(row).to_contain_text(shop.order_url)
    expect(page.locator('[data-snap="runs-RUN_STARTED"]')).to_have_text("1")
    assert page.evaluate("window.stillTheSamePage") is True

    row.get_by_role("link", name=run_id).click()
    expect(page.locator("h1")).to_contain_text(run_id)
    expect(step(page, "init")).to_contain_text('"item": "book"')
    expect(step(page, "reserve")).to_contain_text("STEP_SUCCESS")
    expect(step(page, "reserve")).to_contain_text('"qty": 2')  # the result, pretty JSON
    expect(step(page, "price")).to_contain_text("42")
    sleeping = step(page, "cool-down")
    expect(sleeping).to_contain_text("SleepFor")
    expect(sleeping).to_contain_text("STEP_PROGRESS")
    expect(sleeping).to_contain_text(f"until {when(shop.control.now_ms() + WEEK_S * 1000)[:16]}")
    page.evaluate("window.stillTheSamePage = true")

    shop.control.advance(WEEK_S)

    expect(page.locator("#live-run")).to_contain_text("RUN_SUCCESS")
    expect(step(page, "quote")).to_contain_text("status 200")
    expect(step(page, "quote")).to_contain_text("Q-7")
    expect(step(page, "confirm")).to_contain_text("STEP_SUCCESS")
    expect(step(page, "cool-down")).to_contain_text("STEP_SUCCESS")
    assert page.evaluate("window.stillTheSamePage") is True
    assert shop.journal.names == ["reserve", "price", "confirm"]


def test_the_list_filters_by_state_and_pages_newest_first(shop: Shop, page: Any) -> None:
    started = [shop.start()]
    shop.control.advance(WEEK_S)  # the first run succeeds
    shop.journal.run_ids.clear()
    started.append(shop.start())
    page.goto(shop.page(state="RUN_SUCCESS"))
    expect(page.locator("tr[data-run-id]")).to_have_count(1)
    expect(page.locator(f'tr[data-run-id="{started[0]}"]')).to_contain_text("RUN_SUCCESS")

    page.goto(shop.page(count="1"))
    expect(page.locator("tr[data-run-id]")).to_have_attribute("data-run-id", started[1])
    page.get_by_role("link", name="older »").click()
    expect(page.locator("tr[data-run-id]")).to_have_attribute("data-run-id", started[0])


def wait_for_approval(shop: Shop, run_id: str, event_id: str) -> None:
    """The call `context.waitForEvent` makes (the JS SDK has it; the Python SDK does not): the
    run waits an hour for the event; woken, its step goes to a recording endpoint."""
    with shop.api() as api:
        api.post(f"/v2/wait/{event_id}", headers={"Upstash-Workflow-RunId": run_id},
                 json={"url": shop.quote.url_for("/woken"), "timeout": "1h",
                       "step": {"stepId": 4, "stepName": "approval", "stepType": "Wait",
                                "concurrent": 1}}).raise_for_status()


def test_a_waiting_run_shows_its_waiter_until_the_event_comes(shop: Shop, page: Any) -> None:
    run_id = shop.start()
    event_id = f"approved-{run_id}"
    page.goto(shop.page(f"/workflows/{run_id}"))
    expect(page.get_by_text("This run waits for no event.")).to_be_visible()
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "on")

    deadline_ms = shop.control.now_ms() + HOUR_S * 1000
    wait_for_approval(shop, run_id, event_id)
    page.reload()  # in an app the wait comes within a delivery, whose end refreshes the page

    waiter = page.locator(f'tr[data-event-id="{event_id}"]')
    expect(waiter).to_contain_text(when(deadline_ms)[:16])
    expect(waiter).to_contain_text("approval")
    expect(step(page, "approval")).to_contain_text("STEP_WAITING")
    expect(step(page, "approval")).to_contain_text(event_id)

    with shop.api() as api:
        api.post(f"/v2/notify/{event_id}", content=b'{"ok": true}').raise_for_status()
    shop.control.advance(0)

    expect(page.get_by_text("This run waits for no event.")).to_be_visible()
    expect(step(page, "approval")).to_contain_text("STEP_SUCCESS")
    expect(step(page, "approval")).to_contain_text('"ok": true')


@pytest.fixture
def js_app(shop: Shop) -> Iterator[NodeApp]:
    """The JS SDK's workflow app (it has `waitForEvent`) for the shop's tenant."""
    reason = missing_node()
    if reason is not None:
        pytest.skip(reason)
    keys = derived_keys(shop.token)
    app = NodeApp({"QSTASH_URL": shop.base, "QSTASH_TOKEN": shop.token, "QSTASH_DEV": "false",
                   "QSTASH_CURRENT_SIGNING_KEY": keys.current,
                   "QSTASH_NEXT_SIGNING_KEY": keys.next})
    yield app
    app.close()


def test_a_js_sdk_run_waiting_for_an_event_shows_it_live(
    shop: Shop, js_app: NodeApp, page: Any
) -> None:
    event_id = f"approval-{uuid.uuid4().hex[:8]}"
    run_id = js_app.sdk("trigger", url=js_app.workflow_url("waiter"),
                        body={"eventId": event_id})["workflowRunId"]
    shop.control.advance(0)
    page.goto(shop.page(f"/workflows/{run_id}"))
    expect(page.locator(f'tr[data-event-id="{event_id}"]')).to_contain_text("approval")
    expect(step(page, "approval")).to_contain_text("STEP_WAITING")

    js_app.sdk("notify", eventId=event_id, eventData={"approved": True})
    shop.control.advance(0)

    expect(page.locator(f'tr[data-event-id="{event_id}"]')).to_have_count(0)
    expect(step(page, "approval")).to_contain_text('"approved": true')
    expect(page.locator(f'tr[data-event-id="{event_id}-never"]')).to_contain_text("never")


def test_cancel_from_the_page_cancels_the_run(shop: Shop, page: Any) -> None:
    run_id = shop.start()
    wait_for_approval(shop, run_id, "never")
    page.goto(shop.page(f"/workflows/{run_id}"))
    expect(page.locator('tr[data-event-id="never"]')).to_be_visible()
    page.on("dialog", lambda dialog: dialog.accept())

    page.get_by_role("button", name="Cancel run").click()

    expect(page.get_by_role("status")).to_contain_text(f"workflow run {run_id} canceled")
    expect(page.locator("#live-run")).to_contain_text("RUN_CANCELED")
    expect(step(page, "cool-down")).to_contain_text("STEP_CANCELED")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    expect(page.get_by_text("This run waits for no event.")).to_be_visible()
    assert shop.runs.get(run_id)["workflowState"] == "RUN_CANCELED"
    with shop.api() as api:
        assert api.get("/v2/waiters/never").json() == []
        again = api.delete(f"/v2/workflows/runs/{run_id}", params={"cancel": "true"})
    assert again.status_code == 400 and "RUN_CANCELED" in again.json()["error"]
    shop.control.advance(WEEK_S)
    assert shop.journal.names == ["reserve", "price"]  # nothing ran after the cancel

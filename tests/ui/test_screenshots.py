"""The screenshots of docs/dashboard.md, taken from a real emulator in the browser.

Every run takes them (into a temporary folder) so the docs' pictures always come from working
pages; `QSTASH_UI_SCREENSHOTS=update python -m pytest tests/ui/test_screenshots.py` writes them
into docs/images/ for committing.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from qstash import AsyncQStash, QStash, Receiver
from ui_support import UI
from workflow.workflow_apps import Journal, order_app

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.serving import ServerThread
from qstash_emulator import Emulator, Settings, VirtualClock, create_app
from qstash_emulator.core.tenants import DEV_USERS

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
PAGE = ROOT / "docs" / "dashboard.md"
START_S = 1_767_258_000  # 2026-01-01 09:00 UTC: the pictures show the same dates every time
TOKEN = DEV_USERS[0].token
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Scene:
    url: str
    retrying_id: str = ""
    run_id: str = ""


def _emulator() -> Emulator:
    return Emulator(Settings(port=0, clock="virtual", seed=14, daily_quota=500),
                    clock=VirtualClock(start=START_S))


@pytest.fixture(scope="module")
def scene() -> Iterator[Scene]:
    with ServerThread(create_app(_emulator()), lifespan="on") as server, Endpoint() as shop, \
            EmulatorControl(server.url, TOKEN) as control:
        yield Scene(server.url, _stage(server.url, control, shop))


@pytest.fixture(scope="module")
def workflow_scene() -> Iterator[Scene]:
    """Orders through a workflow app on the Python SDK: one done, one canceled, one asleep
    for a week and waiting for an approval."""
    keys = DEV_USERS[0].keys
    with ServerThread(create_app(_emulator()), lifespan="on") as server, Endpoint() as shop, \
            EmulatorControl(server.url, TOKEN) as control:
        journal = Journal()
        app = order_app(AsyncQStash(TOKEN, base_url=server.url, retry=False),
                        Receiver(keys.current, keys.next), journal)
        with ServerThread(app, lifespan="off") as served:
            yield Scene(server.url, run_id=_stage_runs(server.url, control, shop,
                                                        f"{served.url}/order", journal))


def _stage(url: str, control: EmulatorControl, shop: Endpoint) -> str:
    client = QStash(TOKEN, base_url=url, retry=False)
    for number in range(1, 9):
        client.message.publish_json(url=shop.url_for("/api/orders"), label="orders",
                                    body={"order": 1000 + number, "total": 12.5 * number})
    client.message.publish_json(url=shop.url_for("/api/reminders"), body={"user": 42},
                                delay="2h", label="reminders")
    control.add_fault(shop.url_for("/api/payments"), statuses=[503, 503])
    retrying = client.message.publish_json(url=shop.url_for("/api/payments"), retries=3,
                                           body={"payment": "pay_123", "amount": 99})
    control.add_fault(shop.url_for("/api/legacy"), statuses=[500])
    client.message.publish_json(url=shop.url_for("/api/legacy"), retries=0,
                                body={"sync": "inventory"})
    control.advance(0)
    control.advance(15)  # the first retry of the payment fails too
    return retrying.message_id


def _stage_runs(url: str, control: EmulatorControl, shop: Endpoint, order_url: str,
                journal: Journal) -> str:
    client = QStash(TOKEN, base_url=url, retry=False)
    shop.respond_with(200, path="/api/quote", body='{"quote": "Q-1042", "total": 42}',
                      headers={"Content-Type": "application/json"})
    quote_url = shop.url_for("/api/quote")
    for item in ("book", "lamp", "desk"):
        client.message.publish_json(url=order_url, body={"item": item, "quote_url": quote_url})
        control.advance(0)
        if item == "book":
            control.advance(WEEK_S)
    _, canceled, waiting = journal.run_ids
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"})
    with http:
        http.delete(f"/v2/workflows/runs/{canceled}", params={"cancel": "true"})
        http.post("/v2/wait/order-approved", headers={"Upstash-Workflow-RunId": waiting},
                  json={"url": order_url, "timeout": "2d", "step": {
                      "stepId": 4, "stepName": "approval", "stepType": "Wait"}})
    return waiting


SHOTS = {
    "dashboard-overview.png": "/",
    "dashboard-messages.png": "/messages",
    "dashboard-message.png": "/messages/{retrying_id}",
    "dashboard-dlq.png": "/dlq",
    "dashboard-harness.png": "/harness",
}
WORKFLOW_SHOTS = {
    "dashboard-workflows.png": "/workflows",
    "dashboard-workflow-run.png": "/workflows/{run_id}",
}
WEEK_S = 7 * 86400


def test_the_screenshots_come_from_the_pages(page: Any, scene: Scene, tmp_path: Path) -> None:
    _shoot(page, scene, SHOTS, tmp_path)


def test_the_workflow_screenshots_come_from_the_pages(
    page: Any, workflow_scene: Scene, tmp_path: Path
) -> None:
    _shoot(page, workflow_scene, WORKFLOW_SHOTS, tmp_path)


def _shoot(page: Any, scene: Scene, shots: dict[str, str], folder: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 820})
    for name, path in shots.items():
        shown = path.format(retrying_id=scene.retrying_id, run_id=scene.run_id)
        page.goto(f"{scene.url}{UI}{shown}")
        expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "on")
        page.screenshot(path=folder / name)
        assert (folder / name).read_bytes().startswith(PNG_SIGNATURE)
    if os.environ.get("QSTASH_UI_SCREENSHOTS") == "update":
        IMAGES.mkdir(exist_ok=True)
        for name in shots:
            shutil.copyfile(folder / name, IMAGES / name)


def test_the_docs_page_shows_each_screenshot_and_each_is_committed() -> None:
    shown = re.findall(r"\(images/(dashboard-[a-z-]+\.png)\)", PAGE.read_text())
    assert sorted(shown) == sorted(SHOTS | WORKFLOW_SHOTS)
    for name in SHOTS | WORKFLOW_SHOTS:
        assert (IMAGES / name).read_bytes().startswith(PNG_SIGNATURE), name

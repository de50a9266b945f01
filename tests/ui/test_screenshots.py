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

import pytest
from playwright.sync_api import expect
from qstash import QStash
from ui_support import UI

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
    retrying_id: str


@pytest.fixture(scope="module")
def scene() -> Iterator[Scene]:
    emulator = Emulator(Settings(port=0, clock="virtual", seed=14, daily_quota=500),
                        clock=VirtualClock(start=START_S))
    with ServerThread(create_app(emulator), lifespan="on") as server, Endpoint() as shop, \
            EmulatorControl(server.url, TOKEN) as control:
        yield Scene(server.url, _stage(server.url, control, shop))


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


SHOTS = {
    "dashboard-overview.png": "/",
    "dashboard-messages.png": "/messages",
    "dashboard-message.png": "/messages/{retrying_id}",
    "dashboard-dlq.png": "/dlq",
    "dashboard-harness.png": "/harness",
}


def test_the_screenshots_come_from_the_pages(page: Any, scene: Scene, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 820})
    for name, path in SHOTS.items():
        page.goto(f"{scene.url}{UI}{path.format(retrying_id=scene.retrying_id)}")
        expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "on")
        page.screenshot(path=tmp_path / name)
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE)
    if os.environ.get("QSTASH_UI_SCREENSHOTS") == "update":
        IMAGES.mkdir(exist_ok=True)
        for name in SHOTS:
            shutil.copyfile(tmp_path / name, IMAGES / name)


def test_the_docs_page_shows_each_screenshot_and_each_is_committed() -> None:
    shown = re.findall(r"\(images/(dashboard-[a-z-]+\.png)\)", PAGE.read_text())
    assert sorted(shown) == sorted(SHOTS)
    for name in SHOTS:
        assert (IMAGES / name).read_bytes().startswith(PNG_SIGNATURE), name

"""The dashboard in a real browser against an emulator driven by the official SDK: what a
developer sees appear by itself, and what the page's buttons do to the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from qstash import QStash
from qstash.errors import DailyMessageLimitExceededError
from ui_support import ui_url

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.ui.format import when


def row(page: Any, attribute: str, value: str) -> Any:
    return page.locator(f'tr[{attribute}="{value}"]')


def test_a_published_message_appears_without_reloading(
    page: Any, server: EmulatorServer, client: QStash, endpoint: Endpoint, tenant_key: str
) -> None:
    page.goto(ui_url(server.url, tenant_key, "/messages"))
    expect(page.get_by_text("No messages match.")).to_be_visible()
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "on")
    page.evaluate("window.stillTheSamePage = true")

    sent = client.message.publish(url=endpoint.url_for("/later"), body="hi", delay="1h")

    expect(row(page, "data-message-id", sent.message_id)).to_contain_text("CREATED")
    assert page.evaluate("window.stillTheSamePage") is True


def test_the_attempt_timeline_shows_an_injected_failure_and_its_retry(
    page: Any, server: EmulatorServer, client: QStash, control: EmulatorControl,
    endpoint: Endpoint, tenant_key: str,
) -> None:
    fault = control.add_fault(endpoint.url_for("/flaky"), statuses=[503])
    sent = client.message.publish(url=endpoint.url_for("/flaky"), body="x", retries=1)
    page.goto(ui_url(server.url, tenant_key, f"/messages/{sent.message_id}"))

    failure = page.locator("tr.event-error")
    expect(failure).to_contain_text("503")
    expect(failure).to_contain_text("injected")
    retry_at = int(control.now_ms()) + 1000  # the first retry waits at least a second
    expect(page.locator("tr.event-retry td").nth(4)).to_contain_text(when(retry_at)[:11])

    control.remove_fault(fault)
    control.advance(3600)
    expect(page.locator("tr.event-delivered")).to_contain_text("200")
    expect(page.locator("tr.event-error")).to_have_count(1)


def test_a_dlq_retry_from_the_page_delivers_the_message(
    page: Any, server: EmulatorServer, client: QStash, control: EmulatorControl,
    endpoint: Endpoint, tenant_key: str,
) -> None:
    fault = control.add_fault(endpoint.url_for("/dead"), statuses=[500])
    sent = client.message.publish(url=endpoint.url_for("/dead"), body="second chance", retries=0)
    page.goto(ui_url(server.url, tenant_key, "/dlq"))
    entry = page.locator("tr[data-dlq-id]").filter(has_text=sent.message_id)
    expect(entry).to_contain_text("500")
    control.remove_fault(fault)

    entry.get_by_role("button", name="Retry").click()

    expect(page.get_by_role("status")).to_contain_text("retried as msg_")
    expect(page.get_by_text("The DLQ is empty.")).to_be_visible()
    page.goto(ui_url(server.url, tenant_key, "/messages", state="DELIVERED"))
    expect(page.locator("tr[data-message-id]")).to_have_count(1)
    assert [r.text for r in endpoint.requests] == ["second chance"]


def test_a_clock_advance_from_the_page_fires_a_delayed_message(
    page: Any, server: EmulatorServer, client: QStash, endpoint: Endpoint, tenant_key: str
) -> None:
    client.message.publish(url=endpoint.url_for("/tomorrow"), body="wake up", delay="1d")
    page.goto(ui_url(server.url, tenant_key))
    expect(page.locator('[data-snap="pending"]')).to_have_text("1")

    page.get_by_role("button", name="+1 day").click()

    expect(page.get_by_role("status")).to_contain_text("clock advanced by 1d")
    assert [r.text for r in endpoint.requests] == ["wake up"]
    expect(page.locator('[data-snap="delivered"]')).to_have_text("1")


def test_the_next_due_button_moves_the_clock_to_the_next_attempt(
    page: Any, server: EmulatorServer, client: QStash, endpoint: Endpoint, tenant_key: str
) -> None:
    client.message.publish(url=endpoint.url_for("/soon"), body="due", delay="90s")
    page.goto(ui_url(server.url, tenant_key))
    for _ in range(5):  # another test's work may fall due first: each click reaches one due time
        page.get_by_role("button", name="To the next due attempt").click()
        expect(page.get_by_role("status")).to_contain_text("clock advanced")
        if endpoint.requests:
            break
    assert [r.text for r in endpoint.requests] == ["due"]


def test_a_quota_exhausted_from_the_page_refuses_the_next_publish(
    page: Any, server: EmulatorServer, client: QStash, endpoint: Endpoint, tenant_key: str
) -> None:
    page.goto(ui_url(server.url, tenant_key, "/harness"))

    page.get_by_role("button", name="Exhaust daily quota").click()

    expect(page.get_by_role("status")).to_contain_text("daily quota exhausted")
    with pytest.raises(DailyMessageLimitExceededError):
        client.message.publish(url=endpoint.url_for("/refused"), body="no")
    page.get_by_role("button", name="Reset usage").click()
    expect(page.get_by_role("status")).to_contain_text("quota usage reset")
    client.message.publish(url=endpoint.url_for("/accepted"), body="yes")


def test_an_error_from_the_service_is_shown_on_the_page(
    page: Any, server: EmulatorServer, tenant_key: str
) -> None:
    page.goto(ui_url(server.url, tenant_key, "/harness"))
    page.get_by_label("Match", exact=True).fill("http://localhost:1/x")
    page.get_by_role("button", name="Add fault").click()
    expect(page.get_by_role("alert")).to_have_text(
        "a fault needs at least one effect: statuses, latency_ms, timeout, connection_error, "
        "probability, duplicate_after_s or signature")

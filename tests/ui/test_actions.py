"""Each action of the dashboard, posted as its forms post it, checked through the official SDK
or the control API: the same service calls as the API, with the same errors."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from qstash import QStash
from qstash.errors import QStashError
from ui_support import UI

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer

Act = Callable[..., dict[str, str]]


@pytest.fixture
def act(server: EmulatorServer, tenant_key: str) -> Act:
    """Post a dashboard form; returns the notice or error the page is sent back with."""

    def post(path: str, **form: str | list[str]) -> dict[str, str]:
        answer = httpx.post(f"{server.url}{UI}{path}",
                            data={"tenant": tenant_key, "back": f"{UI}/messages", **form},
                            headers={"Origin": server.url})
        assert answer.status_code == 303, answer.text
        location = urlsplit(answer.headers["location"])
        assert location.path == f"{UI}/messages"
        return {k: v[0] for k, v in parse_qs(location.query).items() if k != "tenant"}

    return post


def test_cancel_a_message(act: Act, client: QStash, endpoint: Endpoint) -> None:
    sent = client.message.publish(url=endpoint.url_for("/x"), body="x", delay="1h")
    assert act(f"/messages/{sent.message_id}/cancel") == {"notice": "message canceled"}
    assert act(f"/messages/{sent.message_id}/cancel") == {
        "notice": "the message had already finished"}
    states = [log.state.value for log in client.log.list(
        filter={"message_id": sent.message_id}).logs]
    assert states[0] == "CANCELED"


def test_an_unknown_message_answers_the_api_error(act: Act) -> None:
    assert act("/messages/msg_nope/cancel") == {"error": "message not found"}


def test_pause_and_resume_a_queue(act: Act, client: QStash) -> None:
    client.queue.upsert("jobs", parallelism=1)
    act("/queues/jobs/pause")
    assert client.queue.get("jobs").paused is True
    act("/queues/jobs/resume")
    assert client.queue.get("jobs").paused is False
    assert act("/queues/jobs/stop")["error"].startswith("unknown action 'stop'")


def test_pause_resume_and_delete_a_schedule(
    act: Act, client: QStash, endpoint: Endpoint
) -> None:
    schedule_id = client.schedule.create(destination=endpoint.url_for("/c"), cron="* * * * *")
    act(f"/schedules/{schedule_id}/pause")
    assert client.schedule.get(schedule_id).paused is True
    act(f"/schedules/{schedule_id}/resume")
    assert client.schedule.get(schedule_id).paused is False
    assert act(f"/schedules/{schedule_id}/delete") == {"notice": "schedule deleted"}
    with pytest.raises(QStashError):
        client.schedule.get(schedule_id)


def test_delete_a_url_group(act: Act, client: QStash, endpoint: Endpoint) -> None:
    client.url_group.upsert_endpoints(url_group="team", endpoints=[{"url": endpoint.url}])
    act("/url-groups/team/delete")
    assert client.url_group.list() == []


def test_pause_a_flow_control_key(act: Act, client: QStash, endpoint: Endpoint) -> None:
    from qstash.message import FlowControl

    client.message.publish(url=endpoint.url_for("/f"), body="f", delay="1h",
                           flow_control=FlowControl(key="k1", parallelism=1))
    act("/flow-control/k1/pause")
    assert client.flow_control.get("k1").is_paused is True
    act("/flow-control/k1/resume")
    assert client.flow_control.get("k1").is_paused is False


def test_rotate_the_signing_keys(act: Act, client: QStash) -> None:
    before = client.signing_key.get()
    act("/keys/rotate")
    assert client.signing_key.get().current == before.next


def test_set_and_lift_quota_limits(act: Act, control: EmulatorControl) -> None:
    assert act("/harness/quota", daily="5", plan="free") == {"notice": "quota settings saved"}
    assert (control.quota()["plan"], control.quota()["daily"]["limit"]) == ("free", 5)
    act("/harness/quota", lift_daily="on")
    assert control.quota()["daily"]["limit"] is None
    assert act("/harness/quota", monthly="-1") == {
        "error": "monthly must be an integer from 0 to 1,000,000,000,000, not -1"}


def test_start_and_end_an_outage(act: Act, client: QStash, endpoint: Endpoint) -> None:
    act("/harness/outage", mode="error", status="503", paths="/v2/publish")
    with pytest.raises(QStashError):
        client.message.publish(url=endpoint.url_for("/o"), body="o")
    assert act("/harness/outage/end") == {"notice": "ended 1 outage"}
    client.message.publish(url=endpoint.url_for("/o"), body="o")
    assert act("/harness/outage", mode="flood") == {
        "error": 'mode must be "error", "timeout" or "reset"'}


def test_add_and_remove_a_fault(act: Act, control: EmulatorControl) -> None:
    act("/harness/faults", match="http://localhost:9/x", statuses="500, 503", timeout="on",
        probability="0.5")
    [fault] = control.faults()
    assert (fault["statuses"], fault["timeout"], fault["probability"]) == ([500, 503], True, 0.5)
    act(f"/harness/faults/{fault['id']}/remove")
    assert control.faults() == []
    assert act("/harness/faults", match="x", statuses="oops")["error"].startswith("statuses")


def test_reset_the_tenant(act: Act, client: QStash, endpoint: Endpoint) -> None:
    sent = client.message.publish(url=endpoint.url_for("/r"), body="r", delay="1h")
    act("/harness/reset")
    with pytest.raises(QStashError):
        client.message.get(sent.message_id)


def test_delete_and_retry_dlq_entries(
    act: Act, client: QStash, control: EmulatorControl, endpoint: Endpoint
) -> None:
    control.add_fault(endpoint.url_for("/dead"), statuses=[500, 500, 500])
    for body in ("a", "b", "c"):
        client.message.publish(url=endpoint.url_for("/dead"), body=body, retries=0)
    control.advance(0)
    entries = client.dlq.list().messages
    ids = [entry.dlq_id for entry in entries]
    assert act("/dlq/delete", id=ids[:2]) == {"notice": "deleted 2 entries"}
    assert act("/dlq/retry", id=ids[2])["notice"].startswith("retried as msg_")
    control.advance(0)
    assert client.dlq.list().messages == []
    assert [r.text for r in endpoint.requests] == [entries[2].body]
    assert act("/dlq/retry") == {"error": "choose at least one entry"}


def test_an_action_from_another_site_is_refused(
    server: EmulatorServer, tenant_key: str, control: EmulatorControl
) -> None:
    answer = httpx.post(f"{server.url}{UI}/harness/quota/exhaust",
                        data={"tenant": tenant_key, "window": "daily"},
                        headers={"Origin": "http://evil.example"})
    assert (answer.status_code, answer.text) == (
        403, "refused: the action was not sent from this dashboard")
    assert control.quota()["daily"]["used"] == 0


def test_an_action_returns_only_to_a_dashboard_page(
    server: EmulatorServer, tenant_key: str
) -> None:
    answer = httpx.post(f"{server.url}{UI}/harness/quota/reset",
                        data={"tenant": tenant_key, "back": "https://evil.example/"})
    assert answer.headers["location"].startswith(f"{UI}/?tenant={tenant_key}")


def test_cancel_a_workflow_run_answers_as_the_api(
    act: Act, server: EmulatorServer, token: str, endpoint: Endpoint
) -> None:
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    with api:
        api.post(f"/v2/publish/{endpoint.url_for('/wf')}", content=b"{}", headers={
            "Upstash-Workflow-RunId": "wfr_act", "Upstash-Workflow-Init": "true",
        }).raise_for_status()  # a run starts, as the Workflow SDKs start one
        assert act("/workflows/wfr_act/cancel") == {"notice": "workflow run wfr_act canceled"}
        assert act("/workflows/wfr_act/cancel") == {
            "error": "workflow run wfr_act is not running: it is RUN_CANCELED"}
        assert act("/workflows/wfr_nope/cancel") == {"error": "workflow run wfr_nope not found"}
        logs = api.get("/v2/workflows/events", params={"groupBy": "workflowRunId"}).json()
    assert [run["workflowState"] for run in logs["runs"]] == ["RUN_CANCELED"]

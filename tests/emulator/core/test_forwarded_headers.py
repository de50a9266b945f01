"""One rule for every `*-Forward-*` form: the sender's transport headers are never forwarded;
and callback settings (Upstash Workflow's too) are settings, not headers to forward."""

from __future__ import annotations

import pytest

from qstash_emulator.core.messages.parse import parse_publish
from qstash_emulator.core.messages.publish import parse_batch

TRANSPORT = ["Content-Length", "Host", "Connection", "Transfer-Encoding", "Keep-Alive",
             "Expect", "Upgrade", "Accept-Encoding"]


@pytest.mark.parametrize("prefix", ["upstash-forward-", "upstash-callback-forward-",
                                    "upstash-failure-callback-forward-"])
def test_transport_headers_are_dropped_in_every_forward_form(prefix: str) -> None:
    headers = {f"{prefix}{name.lower()}": "x" for name in TRANSPORT}
    headers |= {f"{prefix}x-kept": "yes", f"{prefix}authorization": "Bearer api",
                "upstash-callback": "http://cb/x", "upstash-failure-callback": "http://f/x"}
    template = parse_publish("http://d/x", headers, b"", now_ms=0).template
    assert template.callback is not None and template.failure_callback is not None
    forwarded = {"upstash-forward-": template.headers,
                 "upstash-callback-forward-": template.callback.headers,
                 "upstash-failure-callback-forward-": template.failure_callback.headers}[prefix]
    assert forwarded == {"X-Kept": "yes", "Authorization": "Bearer api"}


def test_header_forward_keeps_dropping_authorization_too() -> None:
    headers = {"upstash-header-forward": "true", "authorization": "Bearer qstash",
               "content-length": "8", "x-mine": "1"}
    assert parse_publish("http://d/x", headers, b"", now_ms=0).template.headers == {"X-Mine": "1"}


def test_workflow_settings_of_callbacks_are_not_forwarded() -> None:
    headers = {"upstash-callback": "http://app/wf", "upstash-failure-callback": "http://app/wf"}
    for prefix in ("upstash-callback-", "upstash-failure-callback-"):
        headers |= {f"{prefix}workflow-runid": "wfr_1", f"{prefix}workflow-calltype": "x",
                    f"{prefix}feature-set": "LazyFetch", f"{prefix}flow-control-key": "k",
                    f"{prefix}legacy-header": "kept"}
    headers |= {"upstash-callback-failure-callback-workflow-runid": "wfr_1"}
    template = parse_publish("http://d/x", headers, b"", now_ms=0).template
    assert template.callback is not None and template.failure_callback is not None
    assert template.callback.headers == {"Legacy-Header": "kept"}
    assert template.failure_callback.headers == {"Legacy-Header": "kept"}


def test_a_batch_body_of_any_json_type_is_sent_as_json_text() -> None:
    raw = (b'[{"destination": "http://d/a", "body": {"total": 42}},'
           b' {"destination": "http://d/b", "body": "as is"},'
           b' {"destination": "http://d/c", "body": [1, 2]}, {"destination": "http://d/d"}]')
    assert [request.body for request in parse_batch(raw)] == [
        b'{"total":42}', b"as is", b"[1,2]", b""]

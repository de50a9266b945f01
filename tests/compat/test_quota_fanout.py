"""Quota counting across features: URL-group fan-out counts once per endpoint."""

from __future__ import annotations

import pytest
from qstash import QStash
from qstash.errors import DailyMessageLimitExceededError

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint


def test_group_publish_counts_each_endpoint_and_a_batch_that_does_not_fit_is_refused(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    control.set_quota(daily=3)
    client.url_group.upsert_endpoints(
        url_group="pair",
        endpoints=[{"url": endpoint.url_for("/a")}, {"url": endpoint.url_for("/b")}],
    )
    assert len(client.message.publish(url_group="pair", body="x")) == 2  # type: ignore[arg-type]
    with pytest.raises(DailyMessageLimitExceededError) as refused:
        client.message.publish(url_group="pair", body="y")
    assert (refused.value.limit, refused.value.remaining) == ("3", "1")
    with pytest.raises(DailyMessageLimitExceededError):
        client.message.batch([{"url_group": "pair", "body": "z"}])
    client.message.publish(url=endpoint.url_for("/c"), body="fits")
    control.advance(0)
    assert sorted(r.path for r in endpoint.requests) == ["/a", "/b", "/c"]

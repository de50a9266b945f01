"""Over the daily quota QStash answers 429: the app keeps the email for later."""

from qstash.errors import DailyMessageLimitExceededError


def send_welcome_email(client, url, outbox):
    try:
        client.message.publish_json(url=url, body={"email": "ada@example.com"})
    except DailyMessageLimitExceededError:
        outbox.append(url)
        return "deferred"
    return "queued"


def test_over_quota_the_email_is_deferred(qstash_client, qstash_quota, qstash_endpoint):
    outbox = []
    with qstash_quota.exhaust("daily"):
        assert send_welcome_email(qstash_client, qstash_endpoint.url, outbox) == "deferred"
    assert outbox == [qstash_endpoint.url]
    assert send_welcome_email(qstash_client, qstash_endpoint.url, outbox) == "queued"
    qstash_endpoint.assert_delivered(body={"email": "ada@example.com"}, timeout=5)

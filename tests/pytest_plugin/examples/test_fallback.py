"""While QStash is down the app runs the job inline instead of queueing it."""

from qstash.errors import QStashError


def enqueue_or_run(client, url, job, run_inline):
    try:
        client.message.publish_json(url=url, body=job)
    except QStashError:
        run_inline(job)
        return "inline"
    return "queued"


def test_outage_falls_back_to_inline(qstash_client, qstash_outage, qstash_endpoint):
    done = []
    with qstash_outage("error", status=503):
        assert enqueue_or_run(qstash_client, qstash_endpoint.url, {"n": 1}, done.append) == "inline"
    assert done == [{"n": 1}]
    assert enqueue_or_run(qstash_client, qstash_endpoint.url, {"n": 2}, done.append) == "queued"
    qstash_endpoint.assert_delivered(body={"n": 2}, timeout=5)

"""QStash delivers at least once: the handler does its work once per message id."""


def order_handler(processed, seen):
    def handle(request):
        message_id = request.header("Upstash-Message-Id")
        if message_id not in seen:
            seen.add(message_id)
            processed.append(request.json())
        return 200

    return handle


def test_a_duplicate_delivery_is_processed_once(
    qstash_client, qstash_faults, qstash_endpoint, qstash_clock
):
    processed, seen = [], set()
    url = qstash_endpoint.url_for("/orders")
    qstash_endpoint.set_handler(order_handler(processed, seen))
    qstash_faults.duplicate(url, after_s=5)
    qstash_client.message.publish_json(url=url, body={"order": 7})
    qstash_endpoint.wait_for(1)
    qstash_clock.advance(5)
    first, second = qstash_endpoint.wait_for(2)
    assert first.header("Upstash-Message-Id") == second.header("Upstash-Message-Id")
    assert processed == [{"order": 7}]

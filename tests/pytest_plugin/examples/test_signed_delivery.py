"""A delayed, signed delivery with the virtual clock, also under freezegun."""

from datetime import datetime

from freezegun import freeze_time


def verified(endpoint, receiver):
    request = endpoint.wait_for(1)[0]
    signature = request.header("Upstash-Signature")
    receiver.verify(signature=signature, body=request.text, url=request.url)
    return request


def test_delayed_delivery_is_signed(qstash_client, qstash_endpoint, qstash_clock, qstash_receiver):
    url = qstash_endpoint.url_for("/hook")
    qstash_client.message.publish_json(url=url, body={"id": 1}, delay="1h")
    qstash_clock.advance(3600)
    assert verified(qstash_endpoint, qstash_receiver).json() == {"id": 1}


@freeze_time("2030-01-01 12:00:00")
def test_frozen_time_is_the_emulators_time(
    qstash_client, qstash_endpoint, qstash_clock, qstash_receiver
):
    url = qstash_endpoint.url_for("/later")
    qstash_client.message.publish_json(url=url, body={"id": 2}, delay="10m")
    qstash_clock.advance(600)  # moves the frozen time too
    assert datetime.now() == datetime(2030, 1, 1, 12, 10)
    verified(qstash_endpoint, qstash_receiver)

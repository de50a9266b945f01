"""The app under test, served for real: QStash delivers to its own handler."""

import os

from qstash import Receiver
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

processed = []


async def run_job(request):
    body = (await request.body()).decode()
    receiver = Receiver(os.environ["QSTASH_CURRENT_SIGNING_KEY"],
                        os.environ["QSTASH_NEXT_SIGNING_KEY"])
    receiver.verify(signature=request.headers["Upstash-Signature"], body=body,
                    url=str(request.url))
    processed.append(await request.json())
    return JSONResponse({"ok": True}, headers={"X-Job-Done": "true"})


app = Starlette(routes=[Route("/jobs", run_job, methods=["POST"])])


def test_the_job_runs_in_the_real_handler(
    qstash_app, qstash_env, qstash_client, qstash_clock, qstash_tenant
):
    base_url = qstash_app(app)  # http://127.0.0.1:<free port>, stopped after the test
    result = qstash_client.message.publish_json(url=f"{base_url}/jobs", body={"job": 1})
    qstash_clock.advance(1)  # returns once the delivery was made
    assert processed == [{"job": 1}]
    [delivery] = qstash_tenant.control.deliveries(result.message_id)
    assert delivery["status"] == 200
    assert delivery["responseHeaders"]["x-job-done"] == "true"

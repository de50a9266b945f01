"""Fixtures for the workflow tests: the app's QStash client, served apps, the runs API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from node_app import NodeApp, missing_node
from qstash import AsyncQStash
from workflow_support import Runs, ServeApp

from pytest_qstash.control import EmulatorControl
from pytest_qstash.server import EmulatorServer
from pytest_qstash.serving import ServerThread
from qstash_emulator.core.model import SigningKeys


@pytest.fixture
def app_client(server: EmulatorServer, token: str) -> AsyncQStash:
    """The QStash client a workflow app uses (retries off: an emulator error shows at once)."""
    return AsyncQStash(token, base_url=server.url, retry=False)


@pytest.fixture
def serve_app() -> Iterator[ServeApp]:
    """Serve ASGI apps on free loopback ports for the length of the test."""
    started: list[ServerThread] = []

    def serve(app: Any) -> ServerThread:
        thread = ServerThread(app, lifespan="off").start()
        started.append(thread)
        return thread

    yield serve  # type: ignore[misc]
    for thread in started:
        thread.stop()


@pytest.fixture
def runs(server: EmulatorServer, token: str) -> Iterator[Runs]:
    reader = Runs(server.url, token)
    yield reader
    reader.close()


@pytest.fixture
def node_app(
    server: EmulatorServer, token: str, keys: SigningKeys, control: EmulatorControl
) -> Iterator[NodeApp]:
    """The JS workflow app on the JS SDK, pointed at this test's tenant (skips without node)."""
    reason = missing_node()
    if reason is not None:
        pytest.skip(reason)
    app = NodeApp({
        "QSTASH_URL": server.url, "QSTASH_TOKEN": token, "QSTASH_DEV": "false",
        "QSTASH_CURRENT_SIGNING_KEY": keys.current, "QSTASH_NEXT_SIGNING_KEY": keys.next,
    })
    yield app
    app.close()

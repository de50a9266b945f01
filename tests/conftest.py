"""Shared fixtures: one virtual-clock emulator per session (per xdist worker), a fresh tenant
per test, the official SDK pointed at it, and a real recording destination."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from qstash import AsyncQStash, QStash, Receiver

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import PATIENT_STORE_TIMEOUT_MS, EmulatorServer
from qstash_emulator.core.model import SigningKeys
from qstash_emulator.core.tenants import derived_keys

# Emulators the tests start from the command line are as patient with a busy Redis as
# EmulatorServer's (see PATIENT_STORE_TIMEOUT_MS); the pause tests set their own timeout.
os.environ.setdefault("QSTASH_EMULATOR_STORE_TIMEOUT_MS", str(PATIENT_STORE_TIMEOUT_MS))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(clock="virtual", any_token=True, seed=7) as running:
        yield running


@pytest.fixture
def token() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def keys(token: str) -> SigningKeys:
    return derived_keys(token)


@pytest.fixture
def control(server: EmulatorServer, token: str) -> Iterator[EmulatorControl]:
    with EmulatorControl(server.url, token) as ctl:
        yield ctl
        ctl.reset()


@pytest.fixture
def client(server: EmulatorServer, token: str, control: EmulatorControl) -> QStash:
    return QStash(token, base_url=server.url, retry=False)


@pytest.fixture
def aclient(server: EmulatorServer, token: str, control: EmulatorControl) -> AsyncQStash:
    return AsyncQStash(token, base_url=server.url, retry=False)


@pytest.fixture
def receiver(keys: SigningKeys) -> Receiver:
    return Receiver(keys.current, keys.next)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "bad_signatures_expected: the test's endpoint may receive invalid signatures"
    )


@pytest.fixture
def endpoint(keys: SigningKeys, request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    """A recording destination that checks every signed delivery with `qstash.Receiver`."""
    with Endpoint(signing_keys=(keys.current, keys.next)) as running:
        yield running
        if request.node.get_closest_marker("bad_signatures_expected") is None:
            bad = [(r.path, r.signature_error) for r in running.requests
                   if r.signature_valid is False]
            assert not bad, f"deliveries failed Receiver.verify: {bad}"

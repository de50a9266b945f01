"""The pytest plugin (entry point `qstash`): options, the `qstash` marker and the fixtures.

Fixtures are thin wrappers over `pytest_qstash.pool`, `.harness`, `.clock` and `.endpoint`;
everything heavy is imported inside them, so that the autoloaded plugin costs nothing until a
test asks for a `qstash_*` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .options import MARKER_HELP, OPTIONS, QStashSettings, resolve, with_marker

if TYPE_CHECKING:
    from qstash import AsyncQStash, QStash, Receiver

    from .apps import AppServers
    from .clock import EmulatorClock
    from .endpoint import Endpoint
    from .harness import Faults, Outage, Quota
    from .pool import ServerPool, Tenant
    from .workflow import WorkflowRunner


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("qstash", "QStash emulator (pytest-qstash)")
    for option in OPTIONS:
        dest = f"qstash_{option.name}"
        if option.kind == "bool":
            group.addoption(option.flag, action="store_true", default=None, dest=dest,
                            help=option.help)
        else:
            group.addoption(option.flag, default=None, dest=dest, help=option.help)
        parser.addini(option.ini, option.help, default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


@pytest.fixture(scope="session")
def _qstash_session_settings(pytestconfig: pytest.Config) -> QStashSettings:
    try:
        return resolve(lambda name: pytestconfig.getoption(f"qstash_{name}"), pytestconfig.getini)
    except ValueError as exc:
        raise pytest.UsageError(f"pytest-qstash: {exc}") from exc


@pytest.fixture(scope="session")
def _qstash_pool() -> Iterator[ServerPool]:
    from .pool import ServerPool

    with ServerPool() as pool:
        yield pool


@pytest.fixture
def qstash_settings(
    request: pytest.FixtureRequest, _qstash_session_settings: QStashSettings
) -> QStashSettings:
    """This test's settings: the session's, with its `qstash` markers on top (closest wins)."""
    settings = _qstash_session_settings
    try:
        for marker in reversed(list(request.node.iter_markers("qstash"))):
            settings = with_marker(settings, marker.kwargs)
    except (TypeError, ValueError) as exc:
        pytest.fail(f"@pytest.mark.qstash: {exc}", pytrace=False)
    return settings


@pytest.fixture
def qstash_tenant(
    request: pytest.FixtureRequest, qstash_settings: QStashSettings, _qstash_pool: ServerPool
) -> Iterator[Tenant]:
    """This test's own tenant of the emulator: `.url`, `.token`, signing keys, `.control`."""
    from .container import DockerUnavailable
    from .pool import Tenant

    _skip_if_unsuitable(request, qstash_settings, _qstash_pool)
    server, problem = None, None
    try:
        server = _qstash_pool.get(qstash_settings)
    except DockerUnavailable as exc:
        problem = str(exc)
    if server is None:
        pytest.fail(problem or "no emulator", pytrace=False)
    tenant = Tenant.create(server)
    try:
        _apply(tenant, qstash_settings)
        yield tenant
    finally:
        if qstash_settings.faults:
            tenant.control.clear_faults()
        tenant.close()


@pytest.fixture
def qstash_emulator(qstash_tenant: Tenant) -> Tenant:
    """Deprecated: the old name of `qstash_tenant` (it gives a tenant, not an emulator)."""
    import warnings

    warnings.warn("the qstash_emulator fixture is now qstash_tenant (the old name goes in the "
                  "next release)", DeprecationWarning, stacklevel=2)
    return qstash_tenant


def _skip_if_unsuitable(
    request: pytest.FixtureRequest, settings: QStashSettings, pool: ServerPool
) -> None:
    """A marker that asks for a clock or plan which an external emulator cannot give skips."""
    from .container import DockerUnavailable

    asked = {k for marker in request.node.iter_markers("qstash") for k in marker.kwargs}
    if not (settings.url or settings.docker) or not asked & {"clock", "plan"}:
        return
    if "plan" in asked:
        pytest.skip("@pytest.mark.qstash(plan=...) needs the in-process emulator, "
                    "not an external one (its plan is fixed when it starts)")
    clock, problem = None, None
    try:
        clock = pool.shared_clock(settings)
    except DockerUnavailable as exc:
        problem = str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)
    if clock != settings.clock:
        pytest.skip(f"needs a {settings.clock} clock; the external emulator's clock is {clock}")


def _apply(tenant: Tenant, settings: QStashSettings) -> None:
    from qstash_emulator.control import window_limits

    if settings.quota:
        tenant.control.set_quota(**window_limits(settings.quota))
    for rule in settings.faults:
        effects = dict(rule)
        tenant.control.add_fault(str(effects.pop("match")), **effects)


@pytest.fixture
def qstash_client(qstash_tenant: Tenant) -> QStash:
    """The official `QStash` client for this test's tenant (retries off)."""
    from qstash import QStash

    return QStash(qstash_tenant.token, base_url=qstash_tenant.url, retry=False)


@pytest.fixture
def qstash_async_client(qstash_tenant: Tenant) -> AsyncQStash:
    """The official `AsyncQStash` client for this test's tenant (retries off)."""
    from qstash import AsyncQStash

    return AsyncQStash(qstash_tenant.token, base_url=qstash_tenant.url, retry=False)


@pytest.fixture
def qstash_receiver(qstash_tenant: Tenant) -> Receiver:
    """The official `Receiver` with this test's signing keys."""
    from qstash import Receiver

    return Receiver(*qstash_tenant.keys)


@pytest.fixture
def qstash_env(qstash_tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """QSTASH_URL, QSTASH_TOKEN and the signing-key variables, set for this test."""
    values = {
        "QSTASH_URL": qstash_tenant.url,
        "QSTASH_TOKEN": qstash_tenant.token,
        "QSTASH_CURRENT_SIGNING_KEY": qstash_tenant.current_signing_key,
        "QSTASH_NEXT_SIGNING_KEY": qstash_tenant.next_signing_key,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def qstash_endpoint(qstash_tenant: Tenant) -> Iterator[Endpoint]:
    """A recording destination that checks signatures with this test's keys."""
    from .endpoint import Endpoint

    with Endpoint(signing_keys=qstash_tenant.keys) as endpoint:
        yield endpoint


@pytest.fixture
def qstash_clock(qstash_tenant: Tenant) -> EmulatorClock:
    """The emulator's virtual clock: `advance(seconds)`, `advance_to(datetime)`, `now()`."""
    from .clock import EmulatorClock

    return EmulatorClock(qstash_tenant.control)


@pytest.fixture
def qstash_quota(qstash_tenant: Tenant) -> Iterator[Quota]:
    """This tenant's quota: `set(daily=...)`, `exhaust()`, `get()`, `reset()`."""
    from .harness import Quota

    yield from _undone_at_end(Quota(qstash_tenant.control))


@pytest.fixture
def qstash_faults(qstash_tenant: Tenant) -> Iterator[Faults]:
    """Destination faults for this tenant: `add(match, **effects)`, `duplicate(match)`."""
    from .harness import Faults

    yield from _undone_at_end(Faults(qstash_tenant.control))


@pytest.fixture
def qstash_outage(qstash_tenant: Tenant) -> Iterator[Outage]:
    """A QStash outage for this tenant: `with qstash_outage("error", status=503): ...`."""
    from .harness import Outage

    yield from _undone_at_end(Outage(qstash_tenant.control))


@pytest.fixture
def qstash_app() -> Iterator[AppServers]:
    """Serve your ASGI or WSGI app on a loopback port: `base_url = qstash_app(app)`."""
    from .apps import AppServers

    with AppServers() as servers:
        yield servers


@pytest.fixture
def qstash_workflow(
    qstash_tenant: Tenant, qstash_env: dict[str, str]
) -> Iterator[WorkflowRunner]:
    """Upstash Workflow apps under test: `serve(app)`, `run(url, body)` to its end (sleeps
    fast-forwarded on the virtual clock), `trigger`, `finish`, `notify`, `cancel`."""
    from .workflow import WorkflowRunner

    with WorkflowRunner(qstash_tenant.url, qstash_tenant.token) as runner:
        yield runner


def _undone_at_end(switches: Any) -> Iterator[Any]:
    try:
        yield switches
    finally:
        switches.undo_all()

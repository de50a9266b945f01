"""Command line: flags -> Settings -> uvicorn.

Exit status: 0 stopped normally; 2 could not start (a refused flag or variable, e.g.
`--workers` above 1 on the memory store, the port in use, the store unreachable). Every problem
is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import socket
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit, urlunsplit

from .settings import Settings, normal_region

if TYPE_CHECKING:
    from .emulator import Emulator

EXIT_CANNOT_START = 2
EPILOG = """\
subcommands:
  qstash-emulator scenario run FILE   run a traffic scenario (see: qstash-emulator scenario -h)

Every flag can also be set with a QSTASH_EMULATOR_<NAME> environment variable.
Exit status: 0 stopped normally, 2 could not start (bad flag or value, --workers > 1 without
a Redis store, port in use, store unreachable)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qstash-emulator",
        description="A local, offline emulator of Upstash QStash (v2 API).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument("--clock", choices=["real", "virtual"], help="time source (default real)")
    parser.add_argument("--speed", type=float, help="real clock: divide every wait by FACTOR")
    parser.add_argument(
        "--token", action="append", dest="tokens", metavar="TOKEN",
        help="accept TOKEN as an extra tenant (repeatable)",
    )
    parser.add_argument(
        "--any-token", action="store_const", const=True, dest="any_token",
        help="every unknown token becomes a new isolated tenant",
    )
    parser.add_argument(
        "--admin-token", dest="admin_token", metavar="TOKEN",
        help="the credential for ?all=true (every tenant) on the control API; default: the "
             "dev user's token on loopback, no one on other addresses",
    )
    parser.add_argument("--max-body-bytes", type=int, help="largest accepted message body")
    parser.add_argument("--seed", type=int, help="seed for reproducible ids")
    parser.add_argument("--no-ui", action="store_const", const=False, dest="ui",
                        help="do not serve the dashboard at /__emulator__/ui")
    _add_plan_flags(parser)
    _add_store_flags(parser)
    _add_delivery_flags(parser)
    return parser


def _add_plan_flags(parser: argparse.ArgumentParser) -> None:
    from .core.plans import PLANS

    parser.add_argument("--plan", choices=list(PLANS),
                        help="plan whose limits apply (default payg)")
    parser.add_argument("--daily-quota", type=int, metavar="N",
                        help="messages per day per tenant (overrides the plan)")
    parser.add_argument("--monthly-quota", type=int, metavar="N",
                        help="messages per month per tenant (overrides the plan)")
    parser.add_argument("--burst-rate", type=int, metavar="N",
                        help="requests per second per tenant on burst-limited endpoints")


def _add_store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", metavar="URL", help="'memory' (default) or redis://host:port/db"
    )
    parser.add_argument(
        "--workers", type=int, metavar="N",
        help="serve and deliver from N processes sharing the port (Redis store only)",
    )
    parser.add_argument(
        "--store-prefix", metavar="PREFIX", dest="store_prefix",
        help="namespace of every Redis key (default qstash-emulator)",
    )
    parser.add_argument(
        "--store-timeout-ms", type=int, metavar="MS", dest="store_timeout_ms",
        help="Redis not answering for MS counts as unavailable: requests needing it get 503 "
        "(default 75)",
    )
    parser.add_argument(
        "--history-mb", type=int, metavar="MB", dest="history_mb",
        help="memory store: logs, delivery records and finished messages of every tenant "
        "together stay within MB (oldest first out; default 256)",
    )


def _add_delivery_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", type=normal_region, metavar="REGION",
                        help="EU-CENTRAL-1 (default) or US-EAST-1: the Upstash-Region header")
    parser.add_argument("--signing-keys", type=_pair, dest="signing_keys",
                        metavar="CURRENT,NEXT", help="signing keys of the default dev token")
    parser.add_argument(
        "--rewrite", action="append", metavar="FROM=TO",
        help="deliver destinations starting with FROM to TO instead (repeatable)",
    )
    parser.add_argument("--localhost-alias", dest="localhost_alias", metavar="HOST",
                        help="deliver localhost/127.0.0.1 destinations to HOST (containers)")
    parser.add_argument("--destination-concurrency", type=int, metavar="N",
                        dest="destination_concurrency",
                        help="attempts in flight per destination host and port (default 64)")


def _pair(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(","))


def settings_from_args(argv: Sequence[str] | None = None) -> Settings:
    args = vars(build_parser().parse_args(argv))
    for name in ("tokens", "rewrite"):
        if args.get(name):
            args[name] = tuple(args[name])
    return Settings.from_env(**args)


def startup_lines(settings: Settings) -> list[str]:
    """The ready-to-paste environment lines printed on start."""
    from .core.tenants import DEV_USERS

    user = DEV_USERS[0]
    current, following = settings.signing_keys or (user.keys.current, user.keys.next)
    return [
        f"QSTASH_URL={base_url(settings)}",
        f"QSTASH_TOKEN={user.token}",
        f"QSTASH_CURRENT_SIGNING_KEY={current}",
        f"QSTASH_NEXT_SIGNING_KEY={following}",
    ]


def banner(settings: Settings) -> str:
    clock = settings.clock if settings.clock == "virtual" else f"real x{settings.speed:g}"
    return (f"qstash-emulator is running on {settings.host}:{settings.port} "
            f"(clock: {clock}, store: {public_store(settings.store)})")


def public_store(store: str) -> str:
    """The store URL without its password."""
    parts = urlsplit(store)
    if parts.password is None:
        return store
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host + (
        f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def base_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def ui_line(settings: Settings) -> str | None:
    """Where the dashboard is (None with `--no-ui`)."""
    from .ui import PREFIX

    return f"Dashboard: {base_url(settings)}{PREFIX}/" if settings.ui else None


def fail(message: str) -> NoReturn:
    print(f"qstash-emulator: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_CANNOT_START)


def main(argv: Sequence[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["scenario"]:  # `qstash-emulator scenario run FILE`
        from .scenario_runner.cli import main as scenario_main

        sys.exit(scenario_main(args[1:]))
    try:
        settings = settings_from_args(argv)
    except ValueError as exc:
        fail(str(exc))
    listener = bind(settings)
    settings = replace(settings, port=listener.getsockname()[1])  # --port 0: the one chosen
    if settings.workers > 1:
        from .clocks import unix_now
        from .workers import serve_workers

        start = unix_now()  # every worker's virtual clock starts at the same instant
        sys.exit(serve_workers(settings.workers, listener, lambda first: serve(
            build_emulator(settings, clock_start=start), listener, first)))
    serve(build_emulator(settings), listener)


def bind(settings: Settings) -> socket.socket:
    """The listening socket, bound before anything else starts (one line if it cannot be)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {settings.port} is in use; pick another with --port")
        fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}")
    return sock


def build_emulator(settings: Settings, clock_start: float | None = None) -> Emulator:
    """The emulator with its store opened (one line naming the store if it cannot be);
    `clock_start`: where a virtual clock starts (default: now)."""
    from .clocks import VirtualClock
    from .emulator import Emulator

    clock = VirtualClock(clock_start) if settings.clock == "virtual" else None
    try:
        return Emulator(settings, clock=clock)
    except Exception as exc:
        if not _store_error(exc):
            raise
        fail(f"cannot reach the store {public_store(settings.store)}: {exc}")


def _store_error(exc: Exception) -> bool:
    return isinstance(exc, OSError) or type(exc).__module__.startswith("redis")


def serve(emulator: Emulator, listener: socket.socket, announce: bool = True) -> None:
    """Serve until stopped; the banner and the `QSTASH_*=` lines once requests are answered
    (with `announce`: one worker process of several prints them)."""
    import asyncio

    import uvicorn

    from .app import create_app
    from .collector import Freezer
    from .http.wire import EmulatorHttpProtocol

    collector = Freezer()  # the garbage collector's policy for this process

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            collector.every(asyncio.get_running_loop())
            if self.started and announce:
                print(banner(emulator.settings))
                print("\n".join(startup_lines(emulator.settings)), flush=True)
                if (dashboard := ui_line(emulator.settings)) is not None:
                    print(dashboard, flush=True)

    logging.basicConfig(level=logging.WARNING, format="qstash-emulator: %(message)s")
    config = uvicorn.Config(create_app(emulator), log_level="warning", access_log=False,
                            http=EmulatorHttpProtocol)
    Server(config).run(sockets=[listener])

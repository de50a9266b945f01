"""Reliability figures: Redis paused and killed under load, a hanging destination next to a fast
one, and a soak of many tenants against the history budget.

    python -m scenarios.bench.reliability                      # every figure (about 7 minutes)
    python -m scenarios.bench.reliability --only pause,fair    # some of them
    python -m scenarios.bench.reliability --soak-seconds 60 --json

Figures (see docs/benchmarks.md): `pause` health latency while a private Redis is stopped
(SIGSTOP) for --pause-seconds, how fast publishes get their 503, acknowledged-but-lost and
stored-despite-an-error counts; `kill` the same counts across a kill -9 and restart of Redis
(append-only file, fsync always); `fair` a fast destination's p99 alone and next to a hanging
one; `soak` the emulator's memory growth with --tenants tenants against --history-mb. Exit
status 1 when an acknowledged message was lost or an error answer was stored anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from .fairness import fair, soak
from .outages import outage

PARTS = ("pause", "kill", "fair", "soak")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--pause-seconds", type=float, default=8.0)
    parser.add_argument(
        "--kill-seconds",
        type=float,
        default=2.0,
        help="how long Redis stays dead before its restart",
    )
    parser.add_argument("--workers", type=int, default=16, help="concurrent publishers")
    parser.add_argument(
        "--messages", type=int, default=2000, help="fair: messages to each destination"
    )
    parser.add_argument(
        "--rate", type=float, default=400.0, help="fair: publishes per second to each destination"
    )
    parser.add_argument(
        "--destination-concurrency",
        type=int,
        help="fair: the emulator's limit (default: its own default)",
    )
    parser.add_argument("--soak-seconds", type=float, default=300.0)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--history-mb", type=int, default=64)
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for every acknowledged delivery",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, dict[str, object]]:
    wanted = [part.strip() for part in args.only.split(",") if part.strip()]
    figures: dict[str, dict[str, object]] = {}
    for part in wanted:
        if part == "pause":
            figures[part] = await outage("pause", args.pause_seconds, args.workers, args.timeout)
        elif part == "kill":
            figures[part] = await outage("kill", args.kill_seconds, args.workers, args.timeout)
        elif part == "fair":
            figures[part] = await fair(args.messages, args.rate, args.destination_concurrency)
        elif part == "soak":
            figures[part] = await soak(
                args.soak_seconds, args.tenants, args.history_mb, args.workers
            )
        else:
            raise SystemExit(f"unknown part {part!r}; known: {', '.join(PARTS)}")
    return figures


def failed(figures: dict[str, dict[str, object]]) -> bool:
    return any(
        part.get("acknowledged_lost") or part.get("stored_despite_error")
        for part in figures.values()
    )


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    figures = asyncio.run(run(args))
    if args.json:
        print(json.dumps(figures))
    else:
        for part, values in figures.items():
            print(part)
            for name, value in values.items():
                print(f"  {name.replace('_', ' '):32} {value}")
    raise SystemExit(1 if failed(figures) else 0)


if __name__ == "__main__":
    main()

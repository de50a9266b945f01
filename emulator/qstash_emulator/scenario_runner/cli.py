"""`qstash-emulator scenario run FILE`: run a scenario, show the verdict, exit 0/1."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID, EXIT_MISSING = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qstash-emulator scenario",
                                     description="Run traffic scenarios against the emulator.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a scenario file and check its expectations")
    run.add_argument("file", help="a scenario TOML file (see scenarios/ for examples)")
    run.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    run.add_argument("--plot", metavar="PNG", help="write a chart of rates, quota and fallback")
    run.add_argument("--speed", type=float, help="real clock: run FACTOR times faster")
    run.add_argument("--virtual", action="store_true", help="run on the virtual clock")
    run.add_argument("--smoke", action="store_true", help="the small, short version ([smoke])")
    run.add_argument("--url", help="use a running emulator instead of starting one")
    run.add_argument("--token", help="with --url: the token to publish with")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status: 0 passed, 1 an expectation failed, 2 bad scenario, 3 feature missing."""
    from rich.console import Console

    from .features import FeatureMissing
    from .fields import ScenarioError
    from .model import load_scenario
    from .report import RichProgress, plot, summary_table
    from .runner import prepare, run_scenario

    args = build_parser().parse_args(argv)
    err = Console(stderr=True)
    try:
        scenario = prepare(load_scenario(args.file), speed=args.speed, virtual=args.virtual,
                           smoke=args.smoke)
        with RichProgress(err) if not args.quiet else _Quiet() as progress:
            report = asyncio.run(run_scenario(scenario, url=args.url, token=args.token,
                                              progress=progress))
    except ScenarioError as exc:
        err.print(f"[red]invalid scenario:[/] {exc}")
        return EXIT_INVALID
    except FeatureMissing as exc:
        err.print(f"[yellow]cannot run:[/] {exc}")
        return EXIT_MISSING
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        Console().print(summary_table(report))
    if args.plot:
        try:
            plot(report, args.plot)
        except RuntimeError as exc:
            err.print(f"[red]{exc}[/]")
            return EXIT_INVALID
    return EXIT_PASSED if report.passed else EXIT_FAILED


class _Quiet:
    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def __call__(self, stage: str, done: int, total: int) -> None:
        return None


if __name__ == "__main__":
    sys.exit(main())

"""`qstash-emulator scenario run FILE`: run a scenario, show the verdict, exit 0/1/2/3."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from .runner import Report

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


PLOT_NEEDS = "--plot needs matplotlib: pip install 'qstash-emulator[plot]'"


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status: 0 passed, 1 an expectation failed, 2 bad scenario (or file, or --plot
    without matplotlib), 3 feature missing. Problems are one line on stderr."""
    from rich.console import Console

    from .features import FeatureMissing
    from .fields import ScenarioError

    args = build_parser().parse_args(argv)
    err = Console(stderr=True, soft_wrap=True)
    if args.plot and not plot_available():  # before the run, not after it
        err.print(PLOT_NEEDS, style="red", markup=False, highlight=False)
        return EXIT_INVALID
    try:
        report = _run(args, err)
    except ScenarioError as exc:
        err.print(f"invalid scenario: {exc}", style="red", markup=False, highlight=False)
        return EXIT_INVALID
    except FeatureMissing as exc:
        err.print(f"cannot run: {exc}", style="yellow", markup=False, highlight=False)
        return EXIT_MISSING
    return _show(report, args, err)


def _run(args: argparse.Namespace, err: Console) -> Report:
    from .model import load_scenario
    from .report import RichProgress
    from .runner import prepare, run_scenario

    scenario = prepare(load_scenario(args.file), speed=args.speed, virtual=args.virtual,
                       smoke=args.smoke)
    with RichProgress(err) if not args.quiet else _Quiet() as progress:
        return asyncio.run(run_scenario(scenario, url=args.url, token=args.token,
                                        progress=progress))


def _show(report: Report, args: argparse.Namespace, err: Console) -> int:
    from rich.console import Console

    from .report import plot, summary_table

    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        Console().print(summary_table(report))
    if args.plot:
        plot(report, args.plot)
    return EXIT_PASSED if report.passed else EXIT_FAILED


def plot_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


class _Quiet:
    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def __call__(self, stage: str, done: int, total: int) -> None:
        return None


if __name__ == "__main__":
    sys.exit(main())

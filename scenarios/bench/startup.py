"""Start-up: from the command `python -m qstash_emulator` to its first healthy answer.

Starts the emulator N times in fresh interpreters (memory store, real clock, a free port) and
polls `/__emulator__/health` every 2 ms from this process with the standard library (no client
library of its own to import), with bytecode written as a pip install writes it (one untimed
start first). Prints the median and best of the runs against the target (under 0.3 s);
asserts nothing. With `--against DIR`, the same for another checkout of the
project in the same minutes (say, an older commit), taking turns run by run.

    python -m scenarios.bench.startup --runs 15
    python -m scenarios.bench.startup --against /tmp/older-checkout
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .processes import emulator_command, free_port

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 0.3
POLL_S = 0.002
GIVE_UP_S = 30.0


def time_to_healthy(tree: Path) -> float:
    """Seconds from starting the emulator of checkout `tree` to its first healthy answer."""
    port = free_port()
    paths = [str(tree / part) for part in ("emulator", "client", "pytest_plugin")]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("QSTASH_EMULATOR_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(paths)  # bytecode is written, as a pip install does
    health = f"http://127.0.0.1:{port}/__emulator__/health"
    started = time.perf_counter()
    process = subprocess.Popen(emulator_command(port), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < GIVE_UP_S:
            with contextlib.suppress(urllib.error.URLError, ConnectionError), \
                    urllib.request.urlopen(health, timeout=1) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
            if process.poll() is not None:
                raise RuntimeError(f"the emulator exited with status {process.returncode}")
            time.sleep(POLL_S)
        raise RuntimeError(f"the emulator was not healthy within {GIVE_UP_S:.0f} s")
    finally:
        process.terminate()
        process.wait(10)


def describe(name: str, samples: list[float]) -> str:
    median = statistics.median(samples)
    verdict = "met" if median < TARGET_S else "MISSED"
    return (f"{name}: median {median:.3f} s, best {min(samples):.3f} s, worst "
            f"{max(samples):.3f} s over {len(samples)} starts ({verdict}: < {TARGET_S} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--against", type=Path, help="another checkout, measured in turns")
    args = parser.parse_args()
    trees = {"this checkout": ROOT}
    if args.against is not None:
        trees[f"{args.against}"] = args.against.resolve()
    samples: dict[str, list[float]] = {name: [] for name in trees}
    for tree in trees.values():  # untimed: writes each checkout's bytecode first
        time_to_healthy(tree)
    for _ in range(args.runs):
        for name, tree in trees.items():
            samples[name].append(time_to_healthy(tree))
    for name, taken in samples.items():
        print(describe(name, taken))


if __name__ == "__main__":
    main()

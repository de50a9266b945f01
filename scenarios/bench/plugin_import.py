"""What the autoloaded pytest plugin adds to pytest's start-up: the import of
`pytest_qstash.plugin` after `pytest` itself, in fresh interpreters that may write bytecode (as a
pip install leaves it compiled; one untimed run writes it first). Prints figures; asserts
nothing. Run on demand:

    python -m scenarios.bench.plugin_import --runs 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

PROBE = (
    "import time, pytest\n"
    "start = time.perf_counter()\n"
    "import pytest_qstash.plugin\n"
    "print((time.perf_counter() - start) * 1000)\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    probe()  # untimed: writes the bytecode
    samples = sorted(probe() for _ in range(runs))
    print(f"import pytest_qstash.plugin after pytest, {runs} fresh interpreters: "
          f"min {samples[0]:.1f} ms, median {statistics.median(samples):.1f} ms, "
          f"max {samples[-1]:.1f} ms")


def probe() -> float:
    """Milliseconds the plugin's import took in one fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True,
                          text=True, env=env)
    return float(done.stdout)


if __name__ == "__main__":
    main()

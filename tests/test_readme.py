"""Every Python snippet of the README runs, against a real emulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pytest_qstash.server import EmulatorServer

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
SNIPPETS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
COMMANDS = re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_readme_has_snippets() -> None:
    assert len(SNIPPETS) >= 2


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs(index: int, server: EmulatorServer) -> None:
    env = os.environ | {"QSTASH_URL": server.url, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SNIPPETS[index]], env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_the_two_setup_commands() -> None:
    install_and_run, run_tests = COMMANDS[0].strip(), COMMANDS[1].strip()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert install_and_run == "pip install . && qstash-emulator"
    assert "qstash-emulator" in scripts
    assert run_tests in (ROOT / ".ci" / "run").read_text()

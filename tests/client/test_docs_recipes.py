"""Every Python block of docs/client-recipes.md runs: scripts against a real emulator started
here and a real Redis, and the pytest example as a test file run by pytest (with the plugin)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pytest_qstash.server import EmulatorServer

PAGE = Path(__file__).parents[2] / "docs" / "client-recipes.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(clock="virtual", any_token=True) as server:
        yield server


@pytest.fixture
def env(emulator: EmulatorServer, redis_url: str, prefix: str) -> Iterator[dict[str, str]]:
    """The variables the recipes read, for a tenant of this test's own."""
    token = f"docs-{uuid.uuid4().hex}"
    auth = {"Authorization": f"Bearer {token}"}
    keys = httpx.get(f"{emulator.url}/v2/keys", headers=auth).json()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    yield inherited | {
        "QSTASH_URL": emulator.url, "QSTASH_TOKEN": token,
        "QSTASH_CURRENT_SIGNING_KEY": keys["current"], "QSTASH_NEXT_SIGNING_KEY": keys["next"],
        "REDIS_URL": redis_url, "QUEUE_PREFIX": prefix, "PYTHONUNBUFFERED": "1",
    }
    httpx.post(f"{emulator.url}/__emulator__/reset", headers=auth)


def test_the_page_has_its_recipes() -> None:
    assert len(BLOCKS) == 4
    assert sum("def test_" in block for block in BLOCKS) == 1


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_recipe_runs(index: int, env: dict[str, str], tmp_path: Path) -> None:
    code = BLOCKS[index]
    if "def test_" in code:
        (tmp_path / "test_recipe.py").write_text(code)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "test_recipe.py"]
    else:
        command = [sys.executable, "-c", code]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr

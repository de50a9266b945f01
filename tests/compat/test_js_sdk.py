"""The official JS SDK (`@upstash/qstash`, pinned in tests/compat/js) against the emulator, in a
real `node` process: bulk `count`, a filter typo refused, multi-region, the dev mode drop-in.
Each script prints one `RESULT {json}` line; skipped (with the reason) without node or its
packages (`npm ci --prefix tests/compat/js`, which `.ci/run` does)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.tenants import DEV_USERS, derived_keys

JS_DIR = Path(__file__).parent / "js"
NODE_TIMEOUT_S = 60


def missing_node() -> str | None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed: the JS SDK tests need them"
    if not (JS_DIR / "node_modules" / "@upstash" / "qstash").is_dir():
        return "the JS SDK is not installed: run `npm ci --prefix tests/compat/js`"
    return None


pytestmark = pytest.mark.skipif(missing_node() is not None, reason=missing_node() or "")


def run_node(script: str, env: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    """Run `js/<script>` with only `env` (plus PATH): its RESULT and everything it printed."""
    done = subprocess.run(
        ["node", script], cwd=JS_DIR, capture_output=True, text=True, timeout=NODE_TIMEOUT_S,
        env={"PATH": os.environ["PATH"], "UPSTASH_DISABLE_TELEMETRY": "1", **env}, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    [line] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT ")), output


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(clock="virtual", any_token=True) as server:
        yield server


def test_bulk_cancel_count_and_a_filter_typo_through_the_js_sdk(
    emulator: EmulatorServer,
) -> None:
    token = f"js-{uuid.uuid4().hex}"
    result, _ = run_node("bulk.mjs", {"QSTASH_URL": emulator.url, "QSTASH_TOKEN": token})
    assert (result["allCountOne"], result["filterCountOne"]) == (1, 1)
    assert result["loop"] == [100, 20, 0]  # the SDK's default count, looped until 0
    assert "invalid filter: unknown field 'labeel'" in result["typo"]
    assert (result["left"], result["deleted"]) == (1, 1)  # the typo deleted nothing


def test_the_multi_region_receiver_picks_the_keys_of_the_delivery_region() -> None:
    token = f"js-{uuid.uuid4().hex}"
    keys = derived_keys(token)
    with EmulatorServer(clock="virtual", any_token=True, region="US-EAST-1") as server:
        env = {
            "QSTASH_REGION": "US_EAST_1",
            "US_EAST_1_QSTASH_URL": server.url, "US_EAST_1_QSTASH_TOKEN": token,
            "US_EAST_1_QSTASH_CURRENT_SIGNING_KEY": keys.current,
            "US_EAST_1_QSTASH_NEXT_SIGNING_KEY": keys.next,
            # the default keys are wrong: only the region's keys can verify
            "QSTASH_CURRENT_SIGNING_KEY": "sig_wrong_current",
            "QSTASH_NEXT_SIGNING_KEY": "sig_wrong_next",
        }
        result, output = run_node("multi_region.mjs", env)
    [seen] = result["seen"]
    assert seen["region"] == "US-EAST-1"
    assert seen["verified"] is True, seen
    assert "Falling back to default" not in output


def test_dev_mode_finds_the_emulator_instead_of_starting_its_own_server() -> None:
    with EmulatorServer(clock="virtual") as server:  # only the public dev users
        port = server.url.rsplit(":", 1)[1]
        result, output = run_node("dev_mode.mjs", {"QSTASH_DEV": "true",
                                                   "QSTASH_DEV_PORT": port})
    assert f"Server already running at http://127.0.0.1:{port}" in output
    assert "Downloading" not in output and "Could not start" not in output
    [seen] = result["seen"]
    assert seen["verified"] is True, seen  # signed with the dev keys the SDK expects
    assert json.loads(seen["body"]) == {"dev": True}
    assert DEV_USERS[0].keys.current.startswith("sig_")


def _docs_js_blocks() -> list[tuple[str, str, str]]:
    """(page, prose before, code) of every ```js block in README.md and docs/*.md."""
    root = Path(__file__).parents[2]
    found = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        if page.name == "workflow.md":  # the Workflow SDK's page runs its own snippets
            continue
        parts = page.read_text(encoding="utf-8").split("```")  # fenced blocks at odd places
        for index in range(1, len(parts), 2):
            lang, _, code = parts[index].partition("\n")
            if lang.strip() == "js":
                found.append((page.name, parts[index - 1], code))
    return found


def test_every_js_block_of_the_docs_is_a_script_run_here() -> None:
    blocks = _docs_js_blocks()
    assert len(blocks) >= 2
    scripts = {path.read_text(encoding="utf-8"): path.name for path in JS_DIR.glob("*.mjs")}
    for page, before, code in blocks:
        assert code in scripts, f"{page}: a js block that is no script of tests/compat/js"
        assert f"`tests/compat/js/{scripts[code]}`" in before, f"{page}: name the script"


def test_the_dev_mode_script_of_the_docs_runs() -> None:
    with EmulatorServer(clock="virtual") as server:
        port = server.url.rsplit(":", 1)[1]
        done = subprocess.run(
            ["node", "dev_publish.mjs"], cwd=JS_DIR, capture_output=True, text=True,
            timeout=NODE_TIMEOUT_S, check=False,
            env={"PATH": os.environ["PATH"], "QSTASH_DEV": "true", "QSTASH_DEV_PORT": port})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Server already running at http://127.0.0.1:{port}" in done.stdout
    assert done.stdout.rstrip().endswith("-> https://example.com/api/jobs")

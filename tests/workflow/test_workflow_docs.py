"""Every snippet of docs/workflow.md runs: the Python app and trigger, the node script."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from node_app import JS_DIR, missing_node
from redis_support import free_port
from workflow_support import ServeApp

from pytest_qstash.control import EmulatorControl
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.model import SigningKeys

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "workflow.md").read_text()
PYTHON = re.findall(r"```python\n(.*?)```", PAGE, flags=re.S)
JS = re.findall(r"```js\n(.*?)```", PAGE, flags=re.S)
BASH = re.findall(r"```bash\n(.*?)```", PAGE, flags=re.S)
TEXT = re.findall(r"```text\n(.*?)```", PAGE, flags=re.S)
DAY_S = 86400
WAIT_S = 30.0


def test_the_page_has_its_snippets() -> None:
    assert (len(PYTHON), len(JS), len(BASH), len(TEXT)) == (3, 1, 1, 2)


def test_the_history_shown_has_the_fields_sent() -> None:
    shown = TEXT[1].replace('"<base64 of the payload>"', '""').replace(
        '"<base64 of the step JSON>"', '""').replace("msg_...", "m")
    assert [sorted(item) for item in json.loads(shown)] == [["body", "callType", "messageId"]] * 2


def test_the_pytest_example(tmp_path: Path) -> None:
    (tmp_path / "test_order.py").write_text(PYTHON[2])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("QSTASH_", "PYTEST_"))}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


@pytest.fixture
def app_env(server: EmulatorServer, token: str, keys: SigningKeys,
            monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"QSTASH_URL": server.url, "QSTASH_TOKEN": token,
           "QSTASH_CURRENT_SIGNING_KEY": keys.current, "QSTASH_NEXT_SIGNING_KEY": keys.next}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def import_snippet(source: str, directory: Path) -> ModuleType:
    path = directory / f"workflow_docs_app_{uuid.uuid4().hex[:8]}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fastapi_app_and_the_trigger_script(
    app_env: dict[str, str], serve_app: ServeApp, control: EmulatorControl, tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    app = serve_app(import_snippet(PYTHON[0], tmp_path).app)
    trigger = PYTHON[1].replace("127.0.0.1:8000", f"{app.host}:{app.port}")
    done = subprocess.run([sys.executable, "-c", trigger], env=os.environ | app_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "hello Ada, one day later" in capfd.readouterr().out


def test_the_start_command_prints_the_variables_of_the_page(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "emulator.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "qstash_emulator", *BASH[0].split()[1:]], stdout=out,
            stderr=subprocess.STDOUT, env=os.environ | {"QSTASH_EMULATOR_PORT": str(port)},
        )
    try:
        expected = TEXT[0].replace(":8080", f":{port}").strip().splitlines()
        deadline = time.monotonic() + WAIT_S
        while not all(line in log.read_text() for line in expected):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def js_script() -> Iterator[Path]:
    reason = missing_node()
    if reason is not None:
        pytest.skip(reason)
    path = JS_DIR / f"docs-snippet-{uuid.uuid4().hex[:8]}.mjs"
    yield path
    path.unlink(missing_ok=True)


def wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_S
    while text not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)


def test_the_node_script(
    app_env: dict[str, str], js_script: Path, control: EmulatorControl, tmp_path: Path
) -> None:
    js_script.write_text(JS[0].replace("8000", str(free_port())))
    log = tmp_path / "node.log"
    with log.open("w") as out:
        process = subprocess.Popen(["node", str(js_script)], cwd=JS_DIR, stdout=out,
                                   stderr=subprocess.STDOUT, env=os.environ | app_env)
    try:
        wait_for_line(log, "started wfr_", process)
        control.advance(DAY_S)
        wait_for_line(log, "hello Ada, one day later", process)
    finally:
        process.terminate()
        process.wait(10)

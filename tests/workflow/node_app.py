"""The JS workflow app (`js/app.mjs`) in a node process, and a small client for it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

JS_DIR = Path(__file__).parent / "js"
APP = JS_DIR / "app.mjs"
START_TIMEOUT_S = 20.0


def missing_node() -> str | None:
    """Why the JS tests cannot run here, or None when they can."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed: the JS SDK tests need them"
    if not (JS_DIR / "node_modules" / "@upstash" / "workflow").is_dir():
        return f"the JS SDK is not installed: run `npm ci --prefix {JS_DIR}`"
    return None


class SdkError(Exception):
    """A call of the JS SDK's `Client` failed (its message and HTTP status, if any)."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(f"{message} (status {status})")
        self.status = status


class NodeApp:
    """`node js/app.mjs` on a free port: workflows under /workflows/<name>, the SDK's client."""

    def __init__(self, env: dict[str, str]) -> None:
        descriptor, name = tempfile.mkstemp(prefix="workflow-js-", suffix=".log")
        self._log = Path(name)
        try:
            self._process = subprocess.Popen(
                ["node", str(APP)], cwd=JS_DIR, env={**os.environ, **env},
                stdout=descriptor, stderr=subprocess.STDOUT,
            )
        finally:
            os.close(descriptor)
        self.url = f"http://127.0.0.1:{self._wait_for_port()}"
        self._http = httpx.Client(base_url=self.url, timeout=60)

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            first = self._log.read_text().partition("\n")
            if first[1]:
                return int(json.loads(first[0])["port"])
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        self.close()
        raise RuntimeError(f"the JS workflow app did not start:\n{self.output()}")

    def workflow_url(self, name: str) -> str:
        return f"{self.url}/workflows/{name}"

    def sdk(self, action: str, **args: Any) -> Any:
        """Run one call of the JS SDK's `Client` in the app; its answer, or SdkError."""
        answer = self._http.post(f"/sdk/{action}", json=args)
        if answer.status_code != 200:
            failure = answer.json()
            raise SdkError(failure["error"], failure["status"])
        return answer.json()

    def journal(self) -> dict[str, Any]:
        return self._http.get("/journal").json()  # type: ignore[no-any-return]

    def executed(self) -> list[str]:
        return [name for name, _ in self.journal()["executed"]]

    def value(self, step: str) -> Any:
        return next(value for name, value in self.journal()["executed"] if name == step)

    def wait_for_step(self, step: str, timeout_s: float = 10.0) -> None:
        """Block until the app has begun executing `step` (for a step held open by a gate)."""
        deadline = time.monotonic() + timeout_s
        while step not in self.executed():
            if time.monotonic() > deadline:
                raise AssertionError(f"the app never ran {step!r}; it ran {self.executed()}")
            time.sleep(0.01)

    def output(self) -> str:
        return self._log.read_text()

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        if hasattr(self, "_http"):
            self._http.close()
        self._log.unlink(missing_ok=True)

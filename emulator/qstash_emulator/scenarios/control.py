"""The emulator's control API over HTTP, with feature detection for optional features."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp


class FeatureMissing(RuntimeError):
    """The scenario needs something this emulator or environment does not have."""


FEATURES = {
    "quota": "plan quotas (PUT /__emulator__/quota answers 404; issue 4)",
    "faults": "destination fault injection (POST /__emulator__/faults answers 404; issue 4)",
    "outage": "the outage switch (/__emulator__/outage answers 404; issue 4)",
    "flow_control": "flow control (GET /v2/flowControl answers 404; issue 3)",
}


class Control:
    """Async client for `/__emulator__/` and the few `/v2/` reads the runner needs."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))

    async def close(self) -> None:
        await self._http.close()

    async def _call(self, method: str, path: str, feature: str | None = None,
                    body: Any = None, params: Mapping[str, str] | None = None) -> Any:
        async with self._http.request(method, self.url + path, json=body, params=params,
                                      headers=self._headers) as response:
            text = await response.text()
            if feature is not None and response.status in (404, 405):
                raise FeatureMissing(f"this emulator has no {FEATURES[feature]}")
            if response.status >= 400:
                raise RuntimeError(f"{method} {path} -> {response.status} {text}")
            return await response.json(content_type=None) if text else None

    async def health(self) -> dict[str, Any]:
        return await self._call("GET", "/__emulator__/health")  # type: ignore[no-any-return]

    async def now_ms(self) -> int:
        return int((await self._call("GET", "/__emulator__/clock"))["now"])

    async def advance(self, seconds: float) -> int:
        answer = await self._call("POST", "/__emulator__/clock/advance", body={"seconds": seconds})
        return int(answer["now"])

    async def deliveries(self) -> list[dict[str, Any]]:
        return (await self._call("GET", "/__emulator__/deliveries"))[  # type: ignore[no-any-return]
            "deliveries"]

    async def dlq_count(self) -> int:
        total, cursor = 0, None
        while True:
            params = {"count": "100"} | ({"cursor": cursor} if cursor else {})
            page = await self._call("GET", "/v2/dlq", params=params)
            total += len(page.get("messages", []))
            cursor = page.get("cursor")
            if not cursor:
                return total

    async def set_quota(self, limits: Mapping[str, int | None]) -> None:
        await self._call("PUT", "/__emulator__/quota", "quota", body=dict(limits))

    async def quota(self) -> Any:
        return await self._call("GET", "/__emulator__/quota", "quota")

    async def add_fault(self, match: str, effects: Mapping[str, Any]) -> str:
        answer = await self._call("POST", "/__emulator__/faults", "faults",
                                  body={"match": match, **effects})
        return str((answer or {}).get("id", ""))

    async def start_outage(self, body: Mapping[str, Any]) -> None:
        await self._call("POST", "/__emulator__/outage", "outage", body=dict(body))

    async def end_outage(self) -> None:
        await self._call("DELETE", "/__emulator__/outage", "outage")

    async def require_flow_control(self) -> None:
        await self._call("GET", "/v2/flowControl", "flow_control")


def daily_remaining(quota: Any) -> float | None:
    """Best-effort read of the daily window's remaining count from `GET /__emulator__/quota`."""
    if not isinstance(quota, dict):
        return None
    for window in (quota.get("daily"), (quota.get("windows") or {}).get("daily")):
        if isinstance(window, dict) and isinstance(window.get("remaining"), int | float):
            return float(window["remaining"])
    remaining = quota.get("remaining")
    if isinstance(remaining, dict) and isinstance(remaining.get("daily"), int | float):
        return float(remaining["daily"])
    return None

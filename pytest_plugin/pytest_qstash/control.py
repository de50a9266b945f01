"""`EmulatorControl`: a small client for the emulator-only `/__emulator__/` API."""

from __future__ import annotations

from typing import Any

import httpx


class EmulatorControl:
    """Drive an emulator's clock, reset tenants and read its delivery log.

    >>> control = EmulatorControl("http://127.0.0.1:8080", token="my-token")  # doctest: +SKIP
    >>> control.advance(3600)  # doctest: +SKIP
    """

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, f"/__emulator__/{path}", **kwargs)
        if response.is_error:
            raise RuntimeError(f"{method} {path} failed: {response.status_code} {response.text}")
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")  # type: ignore[no-any-return]

    def reset(self, *, all_tenants: bool = False) -> None:
        self._call("POST", "reset", params={"all": "true"} if all_tenants else None)

    def now_ms(self) -> int:
        return int(self._call("GET", "clock")["now"])

    def advance(self, seconds: float) -> int:
        """Move the virtual clock; returns once every attempt that fell due was made."""
        return int(self._call("POST", "clock/advance", json={"seconds": seconds})["now"])

    def deliveries(self, message_id: str | None = None) -> list[dict[str, Any]]:
        params = {"messageId": message_id} if message_id else None
        return self._call("GET", "deliveries", params=params)["deliveries"]  # type: ignore[no-any-return]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EmulatorControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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

    # --- quotas ---------------------------------------------------------------------------

    def quota(self, *, all_tenants: bool = False) -> dict[str, Any]:
        """Limits, used, remaining and reset (unix seconds) of the daily/monthly/burst windows."""
        return self._call("GET", "quota", params=_all(all_tenants))  # type: ignore[no-any-return]

    def set_quota(self, *, all_tenants: bool = False, **limits: Any) -> dict[str, Any]:
        """Change limits live: `daily`, `monthly`, `burst` (None lifts one), `plan`."""
        return self._call(  # type: ignore[no-any-return]
            "PUT", "quota", json=limits, params=_all(all_tenants))

    def exhaust(self, window: str = "daily", *, all_tenants: bool = False) -> dict[str, Any]:
        """Use up the `daily` or `monthly` window: the next publish gets 429."""
        return self._call(  # type: ignore[no-any-return]
            "POST", "quota/exhaust", json={"window": window}, params=_all(all_tenants))

    def reset_quota(self, *, all_tenants: bool = False) -> dict[str, Any]:
        return self._call(  # type: ignore[no-any-return]
            "POST", "quota/reset", params=_all(all_tenants))

    # --- outage ---------------------------------------------------------------------------

    def outage(
        self,
        mode: str = "error",
        *,
        status: int | None = None,
        seconds: float | None = None,
        count: int | None = None,
        paths: list[str] | None = None,
        all_tenants: bool = False,
    ) -> dict[str, Any]:
        """Start a QStash outage: `error` (status), `timeout` (seconds) or `reset`."""
        body = {"mode": mode, "status": status, "seconds": seconds, "count": count,
                "paths": paths}
        return self._call(  # type: ignore[no-any-return]
            "POST", "outage", json={k: v for k, v in body.items() if v is not None},
            params=_all(all_tenants))

    def end_outage(self, *, all_tenants: bool = False) -> None:
        self._call("DELETE", "outage", params=_all(all_tenants))

    # --- faults ---------------------------------------------------------------------------

    def add_fault(self, match: str, *, all_tenants: bool = False, **effects: Any) -> str:
        """Add a destination fault rule (effects as in the API: statuses=[500, 200], ...)."""
        body = {"match": match, **effects}
        return str(self._call("POST", "faults", json=body, params=_all(all_tenants))["id"])

    def faults(self, *, all_tenants: bool = False) -> list[dict[str, Any]]:
        return self._call(  # type: ignore[no-any-return]
            "GET", "faults", params=_all(all_tenants))["faults"]

    def clear_faults(self, *, all_tenants: bool = False) -> None:
        self._call("DELETE", "faults", params=_all(all_tenants))

    def remove_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"faults/{fault_id}")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EmulatorControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _all(all_tenants: bool) -> dict[str, str] | None:
    return {"all": "true"} if all_tenants else None

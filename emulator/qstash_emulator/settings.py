"""Settings: the one place that reads `QSTASH_EMULATOR_*` environment variables."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

ENV_PREFIX = "QSTASH_EMULATOR_"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
REGIONS = ("EU-CENTRAL-1", "US-EAST-1")
URL_SCHEMES = ("http://", "https://")
INTEGERS = frozenset({"port", "max_body_bytes", "concurrency", "destination_concurrency",
                      "history_mb", "store_timeout_ms", "seed", "daily_quota",
                      "monthly_quota", "burst_rate", "workers"})


@dataclass(frozen=True)
class Settings:
    """How an emulator runs. Every field can be set by `QSTASH_EMULATOR_<FIELD>`.

    >>> Settings(clock="virtual", tokens=("my-token",)).clock
    'virtual'
    """

    host: str = "127.0.0.1"
    port: int = 8080
    clock: str = "real"
    speed: float = 1.0
    tokens: tuple[str, ...] = ()
    any_token: bool = False
    admin_token: str | None = None
    store: str = "memory"
    store_prefix: str = "qstash-emulator"
    store_timeout_ms: int = 75
    max_body_bytes: int = 10 * 1024 * 1024
    concurrency: int = 256
    destination_concurrency: int = 64
    history_mb: int = 256
    seed: int | None = None
    plan: str = "payg"
    daily_quota: int | None = None
    monthly_quota: int | None = None
    burst_rate: int | None = None
    region: str = "EU-CENTRAL-1"
    signing_keys: tuple[str, ...] = ()
    rewrite: tuple[str, ...] = ()
    localhost_alias: str | None = None
    ui: bool = True
    workers: int = 1
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.clock not in ("real", "virtual"):
            raise ValueError(f"clock must be 'real' or 'virtual', not {self.clock!r}")
        if self.speed <= 0:
            raise ValueError("speed must be a positive number")
        from .core.plans import PLANS

        if self.plan not in PLANS:
            raise ValueError(f"unknown plan {self.plan!r}; known plans: {', '.join(PLANS)}")
        for name in ("daily_quota", "monthly_quota", "burst_rate"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.store != "memory" and not self.store.startswith(REDIS_SCHEMES):
            raise ValueError(
                f"unsupported store {self.store!r}: want 'memory' or redis://host:port/db"
            )
        if self.history_mb < 1:
            raise ValueError("history_mb must be at least 1")
        if self.store_timeout_ms < 10:
            raise ValueError("store_timeout_ms must be at least 10")
        if not self.store_prefix:
            raise ValueError("the store prefix must not be empty")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.workers > 1 and self.store == "memory":
            raise ValueError(f"--workers {self.workers} needs the Redis store (--store "
                             "redis://host:port/db): the memory store lives in one process")
        self._check_delivery()

    def _check_delivery(self) -> None:
        if self.concurrency < 1 or self.destination_concurrency < 1:
            raise ValueError("concurrency and destination concurrency must be at least 1")
        if self.region not in REGIONS:
            raise ValueError(f"unknown region {self.region!r}; known regions: "
                             f"{', '.join(REGIONS)}")
        if self.signing_keys and (len(self.signing_keys) != 2 or not all(self.signing_keys)):
            raise ValueError("signing keys must be two keys: CURRENT,NEXT")
        for rule in self.rewrite:
            source, sep, target = rule.partition("=")
            if not sep or not source.startswith(URL_SCHEMES) or not target.startswith(
                    URL_SCHEMES):
                raise ValueError(f"invalid rewrite {rule!r}: want FROM=TO, two http(s) URL "
                                 "prefixes (e.g. https://myapp.example.com=http://127.0.0.1:3000)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then `QSTASH_EMULATOR_*` variables, then `overrides` (None is ignored)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for item in fields(cls):
            variable = ENV_PREFIX + item.name.upper()
            raw = env.get(variable)
            if raw is not None and item.name != "extra":
                try:
                    values[item.name] = _convert(item.name, raw)
                except ValueError:
                    raise ValueError(f"{variable}={raw!r}: {_EXPECTED[item.name]}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


_EXPECTED = {name: "want an integer" for name in INTEGERS} | {"speed": "want a number"}


def _convert(name: str, raw: str) -> object:
    if name in INTEGERS:
        return int(raw)
    if name == "speed":
        return float(raw)
    if name in ("any_token", "ui"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if name in ("tokens", "signing_keys", "rewrite"):
        return tuple(t.strip() for t in raw.split(",") if t.strip())
    if name == "region":
        return normal_region(raw)
    if name in ("localhost_alias", "admin_token"):
        return raw.strip() or None
    return raw


def loopback_only(host: str) -> bool:
    """Does listening on `host` keep other machines out (a loopback address or localhost)?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def admin_token_of(settings: Settings) -> str | None:
    """Who may act on every tenant: `--admin-token`; without one, the default dev user's token
    while the emulator listens on loopback only, and no one otherwise."""
    if settings.admin_token:
        return settings.admin_token
    from .core.tenants import DEFAULT_TOKEN

    return DEFAULT_TOKEN if loopback_only(settings.host) else None


def normal_region(raw: str) -> str:
    """`us_east_1`, `US-EAST-1`: QStash's spelling of a region name, `US-EAST-1`."""
    return raw.strip().upper().replace("_", "-")

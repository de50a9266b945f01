"""Choosing the store: flags, environment variables and validation."""

from __future__ import annotations

import pytest

from qstash_emulator import Settings
from qstash_emulator.cli import settings_from_args
from qstash_emulator.emulator import Emulator


def test_redis_urls_are_accepted_and_other_stores_refused() -> None:
    assert Settings(store="redis://127.0.0.1:6390/2").store == "redis://127.0.0.1:6390/2"
    assert Settings().store == "memory" and Settings().store_prefix == "qstash-emulator"
    with pytest.raises(ValueError, match="unsupported store 'postgres://x'"):
        Settings(store="postgres://x")
    with pytest.raises(ValueError, match="prefix"):
        Settings(store_prefix="")


def test_flags_and_environment_variables() -> None:
    settings = settings_from_args(["--store", "redis://h:1/0", "--store-prefix", "team-a"])
    assert (settings.store, settings.store_prefix) == ("redis://h:1/0", "team-a")
    env = {"QSTASH_EMULATOR_STORE": "redis://h:2/1", "QSTASH_EMULATOR_STORE_PREFIX": "ci"}
    assert Settings.from_env(env) == Settings(store="redis://h:2/1", store_prefix="ci")


def test_an_emulator_on_redis_uses_the_redis_store(redis_server_url: str, prefix: str) -> None:
    emulator = Emulator(Settings(store=redis_server_url, store_prefix=prefix))
    try:
        assert emulator.store.name == "redis"
        assert emulator.store.poll_s is not None
    finally:
        emulator.store.close()

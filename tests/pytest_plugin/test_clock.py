"""`FreezableClock` follows freezegun while time is frozen and is a virtual clock otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from pytest_qstash.clock import FreezableClock


def test_outside_a_freeze_it_is_a_virtual_clock() -> None:
    clock = FreezableClock(start=1_700_000_000)
    clock.advance(90)
    clock.set_ms(1_000)  # never backwards
    assert clock.now_ms() == 1_700_000_090_000
    assert clock.now() == 1_700_000_090.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_inside_a_freeze_it_is_the_frozen_time_and_moves_it() -> None:
    clock = FreezableClock(start=1_700_000_000)
    with freeze_time("2030-01-01 00:00:00") as frozen:
        frozen_ms = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp() * 1000)
        assert clock.now_ms() == frozen_ms
        assert clock.wall() == frozen_ms / 1000
        clock.advance(60)
        assert datetime.now() == datetime(2030, 1, 1, 0, 1)
        clock.set_ms(frozen_ms)  # never backwards
        assert clock.now_ms() == frozen_ms + 60_000
        frozen.tick(30)
        assert clock.now_ms() == frozen_ms + 90_000
    assert clock.now_ms() == 1_700_000_000_000  # the virtual time it had before

"""The message lifecycle's one transition table, as stored states see it."""

from __future__ import annotations

import pytest

from qstash_emulator.clocks import VirtualClock
from qstash_emulator.core.context import Context
from qstash_emulator.core.messages.lifecycle import TRANSITIONS, InvalidTransition
from qstash_emulator.core.model import TERMINAL_STATES, Message, State
from qstash_emulator.ids import RandomIds
from qstash_emulator.storage.memory import MemoryStore

LOGGED_ONLY = {State.ERROR, State.CANCEL_REQUESTED}


def test_every_stored_state_has_a_row_and_finished_states_never_change() -> None:
    assert set(TRANSITIONS) == set(State) - LOGGED_ONLY
    assert all(not TRANSITIONS[state] for state in TERMINAL_STATES)
    assert all(not (targets & LOGGED_ONLY) for targets in TRANSITIONS.values())


def test_save_refuses_a_change_the_table_does_not_allow() -> None:
    store = MemoryStore()
    ctx = Context(store.messages, store.history, VirtualClock(start=0), RandomIds(seed=1))
    message = Message("msg_1", "t", "http://d/", b"", 0, 0)
    active = ctx.save(message, State.ACTIVE)
    delivered = ctx.save(active, State.DELIVERED)
    with pytest.raises(InvalidTransition, match="a DELIVERED message cannot become ACTIVE"):
        ctx.save(delivered, State.ACTIVE)
    assert store.messages.get_message("t", "msg_1") == delivered

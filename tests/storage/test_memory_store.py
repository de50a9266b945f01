"""MemoryStore specifics: bounded histories and expiring dedup ids."""

from __future__ import annotations

from qstash_emulator.core.model import Message, State
from qstash_emulator.storage.memory import DEDUP_SWEEP_AT, MemoryStore


def test_expired_dedup_ids_are_swept_once_the_table_grows() -> None:
    messages = MemoryStore().messages
    for i in range(DEDUP_SWEEP_AT):
        assert messages.claim_dedup("t", f"k{i}", f"m{i}", now_ms=0, window_ms=10) is None
    assert messages.claim_dedup("t", "k0", "again", now_ms=5, window_ms=10) == "m0"
    assert messages.claim_dedup("t", "fresh", "m", now_ms=100, window_ms=10) is None
    assert len(messages._tenant("t").dedup) == 1


def test_finished_messages_are_kept_up_to_the_bound() -> None:
    messages = MemoryStore(max_finished=2).messages
    for i in range(3):
        messages.put_message(Message(f"m{i}", "t", "http://x", b"", 0, 0, state=State.DELIVERED))
    assert messages.get_message("t", "m0") is None
    assert messages.get_message("t", "m2") is not None

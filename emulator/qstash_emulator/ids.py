"""Id sources: random (optionally seeded) base58 ids with QStash's prefixes."""

from __future__ import annotations

import random

from .core.protocol import BASE58


class RandomIds:
    """Ids like `msg_<32 base58 chars>`; pass `seed` for a reproducible sequence.

    >>> RandomIds(seed=1).new_id("msg").startswith("msg_")
    True
    """

    def __init__(self, seed: int | None = None, length: int = 32) -> None:
        self._random = random.Random(seed)
        self._length = length

    def new_id(self, prefix: str) -> str:
        chars = self._random.choices(BASE58, k=self._length)
        return f"{prefix}_{''.join(chars)}"

"""Id sources: random (optionally seeded) base58 ids with QStash's prefixes."""

from __future__ import annotations

import random

from .core.protocol import BASE58

BYTE_TO_BASE58 = bytes(ord(BASE58[byte % len(BASE58)]) for byte in range(256))


class RandomIds:
    """Ids like `msg_<32 base58 chars>`; pass `seed` for a reproducible sequence.

    >>> RandomIds(seed=1).new_id("msg").startswith("msg_")
    True
    """

    def __init__(self, seed: int | None = None, length: int = 32) -> None:
        self._random = random.Random(seed)
        self._length = length

    def new_id(self, prefix: str) -> str:
        # one C call per id: random bytes mapped onto the alphabet (a slight bias to its first
        # 24 letters, which no one can tell from an id)
        chars = self._random.randbytes(self._length).translate(BYTE_TO_BASE58)
        return f"{prefix}_{chars.decode('ascii')}"

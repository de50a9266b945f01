"""Where another feature takes part in a message's life: the messages that belong to a
workflow run are shaped, admitted, delivered and failed with the help of `MessageHooks`.

Every publish is shaped; the other hooks are called only for a message that carries
`workflow`, so every other message goes the usual way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ..model import Message, Response
from .parse import Parsed


class MessageHooks(Protocol):
    def shape(self, tenant: str, parsed: Parsed, headers: Mapping[str, str]) -> Parsed:
        """The publish as it is to be accepted (validation only: nothing is stored yet)."""
        ...

    def admit(self, message: Message) -> Message | str:
        """The message to store, or the id of the message it duplicates (nothing stored)."""
        ...

    def delivery(self, message: Message) -> tuple[bytes, dict[str, str]]:
        """The body to send and the headers to add for one attempt."""
        ...

    def delivered(self, message: Message, response: Response) -> None: ...

    def failed(self, message: Message, response: Response, dlq_id: str) -> Message | None:
        """The message failed for good (it is in the DLQ as `dlq_id`); returns the failure
        callback to store instead of the usual one, if any."""
        ...


class NoHooks:
    """No feature takes part: every message goes the usual way."""

    def shape(self, tenant: str, parsed: Parsed, headers: Mapping[str, str]) -> Parsed:
        return parsed

    def admit(self, message: Message) -> Message | str:
        return message

    def delivery(self, message: Message) -> tuple[bytes, dict[str, str]]:
        return message.body, {}

    def delivered(self, message: Message, response: Response) -> None:
        return None

    def failed(self, message: Message, response: Response, dlq_id: str) -> Message | None:
        return None

"""The docs' snippets share one emulator per distinct command (see `doc_emulators`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from doc_emulators import DocEmulators


@pytest.fixture(scope="session")
def doc_emulators() -> Iterator[DocEmulators]:
    emulators = DocEmulators()
    yield emulators
    emulators.stop()

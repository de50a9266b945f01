"""The public dev users' tokens are written in one module; everything else imports them."""

from __future__ import annotations

import inspect
from pathlib import Path

from qstash_emulator.core import tenants
from qstash_emulator.core.tenants import DEV_USERS

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("emulator", "client", "pytest_plugin", "scenarios", "tests")


def pasted_tokens(text: str) -> list[str]:
    return [user.token for user in DEV_USERS if user.token in text]


def test_dev_tokens_are_defined_once() -> None:
    home = Path(inspect.getfile(tenants)).resolve()
    pasted = [str(path.relative_to(REPO)) for folder in SOURCES
              for path in sorted((REPO / folder).rglob("*.py"))
              if path.resolve() != home and pasted_tokens(path.read_text(encoding="utf-8"))]
    assert pasted == []


def test_the_checker_sees_a_pasted_token() -> None:
    assert pasted_tokens(f'TOKEN = "{DEV_USERS[0].token}"') == [DEV_USERS[0].token]

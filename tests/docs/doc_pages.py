"""The documentation as data: README.md and docs/*.md, their fenced blocks, links and headings.

A fenced block may be preceded by an HTML comment naming the emulator it runs against:

    <!-- emulator: qstash-emulator --clock virtual --any-token -->
    ```python

The comment sits between the previous block and this one (usually on the line just above the
fence), and the prose there says the same command in backticks for the human reader. A ```python
block without a comment runs against a plain `qstash-emulator`; `<!-- emulator: none -->` marks a
snippet that starts whatever it needs itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_COMMAND = "qstash-emulator"
NO_EMULATOR = "none"

# Pages whose snippets are not run here: another test owns them, or another author writes them.
SNIPPETS_RUN_ELSEWHERE = {
    "docs/client-recipes.md": "its own test runs its snippets",
    "docs/architecture.md": "written and checked by its author",
    "docs/workflow.md": "tests/workflow/test_workflow_docs.py runs its snippets",
}

_FENCE_OPEN = re.compile(r"^```([\w+-]*)\s*$")
_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_EMULATOR_COMMENT = re.compile(r"<!--\s*emulator:\s*(.*?)\s*-->", re.S)


@dataclass(frozen=True)
class Block:
    """One fenced block of a page and the text between it and the block before it."""

    page: str
    line: int
    lang: str
    code: str
    before: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def prose(self) -> str:
        """What a reader sees before the block: the text in between, comments removed."""
        return _COMMENT.sub("", self.before)

    @property
    def stated_commands(self) -> list[str]:
        return [" ".join(c.split()) for c in _EMULATOR_COMMENT.findall(self.before)]

    @property
    def command(self) -> str | None:
        """The emulator command stated for this block, or None when no comment states one."""
        stated = self.stated_commands
        return stated[-1] if stated else None


def pages() -> list[str]:
    """README.md and every docs/*.md page, as paths relative to the repository."""
    docs = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))
    return ["README.md", *docs]


def snippet_pages() -> list[str]:
    return [page for page in pages() if page not in SNIPPETS_RUN_ELSEWHERE]


def text(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


def parse(page: str, source: str) -> tuple[tuple[Block, ...], str]:
    """The fenced blocks of a page's `source`, and the text after the last one."""
    found: list[Block] = []
    lines = source.splitlines()
    gap: list[str] = []
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        if not opening:
            gap.append(lines[index])
            index += 1
            continue
        end = lines.index("```", index + 1)
        code = "\n".join(lines[index + 1:end]) + "\n"
        found.append(Block(page, index + 1, opening.group(1), code, "\n".join(gap)))
        gap, index = [], end + 1
    return tuple(found), "\n".join(gap)


@cache
def _parse(page: str) -> tuple[tuple[Block, ...], str]:
    return parse(page, text(page))


def blocks(page: str) -> tuple[Block, ...]:
    return _parse(page)[0]


def all_blocks(lang: str) -> list[Block]:
    """The blocks of one language on every page this runner owns."""
    return [b for page in snippet_pages() for b in blocks(page) if b.lang == lang]


def prose(page: str) -> str:
    """The page without its fenced blocks and HTML comments."""
    found, trailing = _parse(page)
    return _COMMENT.sub("", "\n".join([*(b.before for b in found), trailing]))


def prose_without_code(page: str) -> str:
    """`prose(page)` with inline code blanked out too: what may hold links."""
    return re.sub(r"`[^`\n]*`", "``", prose(page))


def section(page: str, heading: str) -> str:
    """The text under `## heading`, up to the next heading of level 2."""
    after = text(page).split(f"\n## {heading}\n", 1)[1]
    return after.split("\n## ", 1)[0]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    plain = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return plain.replace(" ", "-")


def anchors(page: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in prose(page).splitlines():
        if re.match(r"^#{1,6} ", line):
            base = slug(line.lstrip("#"))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found

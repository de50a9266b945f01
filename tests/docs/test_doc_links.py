"""Links between README.md and docs/*.md resolve, and nothing links outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from doc_pages import ROOT, anchors, pages, prose_without_code, slug

# Pages other authors add to docs/; a link to one is accepted only while the file is absent.
WRITTEN_ELSEWHERE = {"docs/architecture.md", "docs/client-recipes.md"}

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def links(page: str) -> list[str]:
    return _LINK.findall(prose_without_code(page))


def _resolve(page: str, target: str) -> tuple[Path, str]:
    path, _, anchor = target.partition("#")
    file = (ROOT / page).parent / path if path else ROOT / page
    return file.resolve(), anchor


def test_pages_link_to_each_other() -> None:
    assert sum(len(links(page)) for page in pages()) >= 20


@pytest.mark.parametrize("page", pages())
def test_nothing_links_outside_the_repository(page: str) -> None:
    outside = re.findall(r"\b(?:https?|ftp)://\S+|\bwww\.\S+|mailto:\S+", prose_without_code(page))
    assert not outside, f"{page}: name these in plain text (or in code) instead: {outside}"


@pytest.mark.parametrize("page", pages())
def test_relative_links_resolve(page: str) -> None:
    broken = []
    for target in links(page):
        file, anchor = _resolve(page, target)
        name = file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else str(file)
        if not file.is_relative_to(ROOT):
            broken.append(f"{target} (outside the repository)")
        elif not file.exists():
            broken += [] if name in WRITTEN_ELSEWHERE else [f"{target} (no such file)"]
        elif anchor and anchor not in anchors(name):
            broken.append(f"{target} (no heading #{anchor} in {name})")
    assert not broken, f"{page}: {broken}"


def test_the_readme_maps_every_page() -> None:
    linked = {_resolve("README.md", target)[0] for target in links("README.md")}
    for page in pages()[1:]:
        assert (ROOT / page).resolve() in linked, f"add {page} to the README's map"


def test_slugs_follow_githubs_rule() -> None:
    assert slug(" The `qstash` marker") == "the-qstash-marker"
    assert slug("Client: RequestQueue") == "client-requestqueue"
    assert slug("Plans, quotas (and faults)") == "plans-quotas-and-faults"

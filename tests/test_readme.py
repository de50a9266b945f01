"""The README stays a short front page: its two set-up commands are the real ones. Its snippets
run with every docs page's (tests/docs/)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
COMMANDS = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
MAX_LINES = 300


def test_the_two_setup_commands() -> None:
    install_and_run, run_tests = COMMANDS[0].strip(), COMMANDS[1].strip()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert install_and_run == "pip install . && qstash-emulator"
    assert "qstash-emulator" in scripts
    assert run_tests in (ROOT / ".ci" / "run").read_text()


def test_the_readme_is_a_front_page_and_the_reference_lives_in_docs() -> None:
    assert len(README.splitlines()) <= MAX_LINES
    assert "## Documentation" in README


def test_the_install_story_needs_no_published_package() -> None:
    """From a checkout, from a git URL, as a downstream test dependency; never a bare
    `pip install qstash-emulator`, which is not published (yet)."""
    assert "pip install -e ../qstash-emulator" in README
    assert 'pip install "qstash-emulator @ git+https://' in README
    toml_blocks = re.findall(r"```toml\n(.*?)```", README, flags=re.S)
    test_extra = tomllib.loads(toml_blocks[0])["project"]["optional-dependencies"]["test"]
    assert any(dependency.startswith("qstash-emulator @ git+") for dependency in test_extra)
    assert not re.search(r"pip install qstash-emulator\b", README)

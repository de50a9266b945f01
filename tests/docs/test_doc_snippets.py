"""Every snippet of README.md and docs/*.md runs, against the emulator its page tells the reader
to start (see `doc_pages` for the `<!-- emulator: ... -->` convention).

- ```python: run in a fresh interpreter with the `QSTASH_*` lines that emulator prints.
- ```bash with an emulator comment: run by bash against that emulator. Without one, each command
  is checked without being run (flags parse, files exist, scripts accept the options shown).
- ```py: a verbatim copy of an example test file that tests/pytest_plugin runs through pytester.
- ```toml: valid TOML; on the scenarios page, a valid scenario.
- ```text: output and signatures, compared with what the code prints where they are known.
- ```js: a verbatim copy of a script in tests/compat/js, which tests/compat/test_js_sdk.py runs.
"""

from __future__ import annotations

import itertools
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from doc_emulators import DocEmulators
from doc_pages import (
    DEFAULT_COMMAND,
    NO_EMULATOR,
    ROOT,
    Block,
    all_blocks,
    blocks,
    parse,
    snippet_pages,
)

from pytest_qstash.options import MARKER_KEYS
from qstash_emulator.cli import settings_from_args, startup_lines
from qstash_emulator.settings import ENV_PREFIX, Settings

KNOWN_LANGUAGES = {"python", "py", "bash", "toml", "text", "js"}
EXAMPLES = ROOT / "tests" / "pytest_plugin" / "examples"
SNIPPET_TIMEOUT_S = 120

PYTHON = all_blocks("python")
BASH = all_blocks("bash")
RUN_BASH = [b for b in BASH if b.command is not None]
CHECK_BASH = [b for b in BASH if b.command is None]
STATED = [b for b in PYTHON + RUN_BASH if b.command != NO_EMULATOR]


def _where(block: Block) -> str:
    return block.where


def _command(block: Block) -> str:
    return block.command or DEFAULT_COMMAND


def _run(argv: list[str], block: Block, emulators: DocEmulators) -> None:
    command = _command(block)
    env = emulators.env_for(command) if command != NO_EMULATOR else None
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=SNIPPET_TIMEOUT_S, check=False)
    if command != NO_EMULATOR:
        emulators.reset(command)
    assert done.returncode == 0, f"{block.where} failed:\n{done.stdout}\n{done.stderr}"


def test_there_are_snippets_to_run() -> None:
    assert len(PYTHON) >= 8 and RUN_BASH and CHECK_BASH


def test_a_comment_names_the_emulator_of_the_next_block_only() -> None:
    source = ("Start `qstash-emulator --clock virtual`:\n\n"
              "<!-- emulator: qstash-emulator  --clock virtual -->\n```python\nA\n```\n"
              "Then:\n```python\nB\n```\nEnd.\n")
    (first, second), after = parse("page.md", source)
    assert (first.line, first.code, first.command) == (4, "A\n", "qstash-emulator --clock virtual")
    assert "<!--" not in first.prose and "`qstash-emulator --clock virtual`" in first.prose
    assert (second.code, second.command, second.prose, after) == ("B\n", None, "Then:", "End.")


@pytest.mark.parametrize("page", snippet_pages())
def test_every_block_has_a_known_language(page: str) -> None:
    unknown = [(b.where, b.lang) for b in blocks(page) if b.lang not in KNOWN_LANGUAGES]
    assert not unknown, f"give each fence one of {sorted(KNOWN_LANGUAGES)}: {unknown}"


@pytest.mark.parametrize("page", snippet_pages())
def test_emulator_comments_precede_runnable_blocks_only(page: str) -> None:
    for block in blocks(page):
        assert len(block.stated_commands) <= 1, f"{block.where}: one emulator comment per block"
        if block.command is not None:
            assert block.lang in ("python", "bash"), f"{block.where}: nothing runs a {block.lang}"


@pytest.mark.parametrize("block", STATED, ids=_where)
def test_the_prose_states_the_emulator_command(block: Block) -> None:
    command = _command(block)
    assert f"`{command}`" in block.prose, (
        f"{block.where}: tell the reader to start `{command}` in the text before the snippet")


@pytest.mark.parametrize("block", PYTHON, ids=_where)
def test_python_snippet_runs(block: Block, doc_emulators: DocEmulators) -> None:
    _run([sys.executable, "-c", block.code], block, doc_emulators)


@pytest.mark.parametrize("block", RUN_BASH, ids=_where)
def test_bash_snippet_runs(block: Block, doc_emulators: DocEmulators) -> None:
    if "curl " in block.code and shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    _run(["bash", "-euo", "pipefail", "-c", block.code], block, doc_emulators)


# --- bash commands that are checked, not run ------------------------------------------------


def commands(code: str) -> list[list[str]]:
    """Each command of a block as words: split at `&&`, `;`, `&` and `|`; redirections dropped."""
    found: list[list[str]] = []
    for line in code.replace("\\\n", " ").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        current: list[str] = []
        redirected = False
        for word in [*shlex.split(line), ";"]:
            if word in ("&&", ";", "&", "|"):
                found += [current] if current else []
                current, redirected = [], False
            elif word.startswith(">"):
                redirected = True
            elif not redirected:
                current.append(word)
    return found


def _fail_on_exit(parse: Callable[[], object], where: str) -> object:
    try:
        return parse()
    except SystemExit as exit_:
        pytest.fail(f"{where}: the command line is refused (exit {exit_.code})")


def _check_variable(assignment: str, where: str) -> None:
    name, value = assignment.split("=", 1)
    assert name.startswith(ENV_PREFIX), f"{where}: {name} is not an emulator variable"
    Settings.from_env({name: value})


def _check_emulator(words: list[str], where: str) -> None:
    if words[1:3] == ["scenario", "run"]:
        from qstash_emulator.scenario_runner.cli import build_parser

        args = _fail_on_exit(lambda: build_parser().parse_args(words[2:]), where)
        scenario = Path(getattr(args, "file", ""))
        assert (ROOT / scenario).is_file(), f"{where}: no scenario file {scenario}"
        return
    _fail_on_exit(lambda: settings_from_args(words[1:]), where)


@cache
def _help(*program: str) -> str:
    done = subprocess.run([sys.executable, *program, "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _check_python(words: list[str], where: str) -> None:
    program = words[1:3] if words[1] == "-m" else words[1:2]
    if words[1] != "-m":
        assert (ROOT / words[1]).is_file(), f"{where}: no script {words[1]}"
    shown = _help(*program)
    for word in words[len(program) + 1:]:
        if word.startswith("-"):
            assert word.split("=")[0] in shown, f"{where}: {' '.join(program)} has no {word}"


def _check_pip(words: list[str], where: str) -> None:
    assert words[1] == "install", f"{where}: only `pip install` is documented"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for word in words[2:]:
        if "[" in word:
            named = word.split("[", 1)[1].rstrip("]").split(",")
            assert set(named) <= set(extras), f"{where}: no extra {named} in pyproject.toml"


def _check_docker(words: list[str], where: str) -> None:
    """Not run (no engine needed): the image's contents are checked by test_dockerfile.py."""
    assert words[1] in ("build", "run"), f"{where}: docker {words[1]}"
    if words[1] == "build":
        assert words[2:] == ["-t", "qstash-emulator", "."], f"{where}: build the one image name"
        return
    assert words[-1] in ("qstash-emulator", "qstash-emulator:latest"), where
    for flag, value in itertools.pairwise(words):
        if flag == "-e":
            _check_variable(value, where)


CHECKS = {"qstash-emulator": _check_emulator, "python": _check_python, "pip": _check_pip,
          "docker": _check_docker}
CHECKED = [pytest.param(words, id=f"{b.where}#{n}")
           for b in CHECK_BASH for n, words in enumerate(commands(b.code), 1)]


@pytest.mark.parametrize("words", CHECKED)
def test_bash_command_is_checked(words: list[str], request: pytest.FixtureRequest) -> None:
    where = f"{request.node.callspec.id} `{' '.join(words)}`"
    words = list(words)
    while "=" in words[0] and not words[0].startswith("-"):
        _check_variable(words.pop(0), where)
    check = CHECKS.get(words[0])
    assert check, f"{where}: no check for `{words[0]}`: add one, or run it with a comment"
    check(words, where)


def test_commands_are_split_into_words() -> None:
    code = "A=1 qstash-emulator --port 1 &\nx --json > out.json && y \\\n  --z\n# c\n"
    assert commands(code) == [["A=1", "qstash-emulator", "--port", "1"], ["x", "--json"],
                              ["y", "--z"]]


# --- the other languages ----------------------------------------------------------------------


@pytest.mark.parametrize("block", all_blocks("py"), ids=_where)
def test_py_block_is_an_example_file_shown_verbatim(block: Block) -> None:
    files = {path.read_text(): path.name for path in EXAMPLES.glob("test_*.py")}
    assert block.code in files, f"{block.where}: not one of {sorted(files.values())}"
    assert f"`tests/{files[block.code]}`" in block.prose, f"{block.where}: name the file"


@pytest.mark.parametrize("block", all_blocks("toml"), ids=_where)
def test_toml_block_is_valid(block: Block) -> None:
    data = tomllib.loads(block.code)
    if block.page == "docs/scenarios.md":
        from qstash_emulator.scenario_runner import parse_scenario

        parse_scenario(data, base=ROOT / "scenarios")


@pytest.mark.parametrize("block", all_blocks("text"), ids=_where)
def test_text_block_matches_the_code(block: Block) -> None:
    if block.code.startswith("QSTASH_URL="):
        assert block.code.splitlines() == startup_lines(Settings())
    elif block.code.startswith("@pytest.mark.qstash("):
        assert all(f"{key}=" in block.code for key in MARKER_KEYS), block.where

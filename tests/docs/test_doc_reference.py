"""The reference tables name everything the code offers, and nothing it does not: command-line
flags and variables, the plugin's options and fixtures, the shipped scenarios."""

from __future__ import annotations

import argparse
import ast
import re
from dataclasses import fields
from pathlib import Path

from doc_pages import ROOT, section, text

import pytest_qstash.plugin
from pytest_qstash.options import OPTIONS
from qstash_emulator.cli import build_parser
from qstash_emulator.settings import ENV_PREFIX, Settings


def _long_flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings
            if flag.startswith("--") and flag != "--help"}


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return commands.choices[name]  # type: ignore[no-any-return]


def test_every_flag_of_the_command_line_is_documented_and_no_other() -> None:
    page = text("docs/cli.md")
    documented = set(re.findall(r"\| `(--[a-z-]+)", page))
    assert documented == _long_flags(build_parser())


def test_every_environment_variable_is_documented_and_no_other() -> None:
    page = text("docs/cli.md")
    variables = {ENV_PREFIX + f.name.upper() for f in fields(Settings) if f.name != "extra"}
    assert set(re.findall(rf"`({ENV_PREFIX}[A-Z_]+)`", page)) == variables


def test_every_plugin_option_is_documented() -> None:
    options = section("docs/plugin.md", "Options")
    for option in OPTIONS:
        assert f"`{option.flag}" in options and f"`{option.ini}" in options, option.name
        assert option.env is None or f"`{option.env}`" in options, option.name


def _fixtures() -> set[str]:
    tree = ast.parse(Path(pytest_qstash.plugin.__file__).read_text(encoding="utf-8"))
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
            and any("fixture" in ast.unparse(d) for d in node.decorator_list)}


def test_every_public_fixture_is_documented() -> None:
    rows = [line for line in section("docs/plugin.md", "Fixtures").splitlines()
            if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert _fixtures() <= documented
    assert len(_fixtures()) >= 10


def test_every_shipped_scenario_and_runner_option_is_documented() -> None:
    from qstash_emulator.scenario_runner.cli import build_parser as scenario_parser

    page = text("docs/scenarios.md")
    for path in (ROOT / "scenarios").glob("*.toml"):
        assert f"`{path.name}`" in page, path.name
    for flag in _long_flags(_subcommand(scenario_parser(), "run")):
        assert f"`{flag}" in page, flag

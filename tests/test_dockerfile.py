"""The Dockerfile, .dockerignore and CI script agree with the package (no Docker engine needed)."""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from qstash_emulator.settings import ENV_PREFIX, Settings

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
CI_RUN = REPO / ".ci" / "run"
TEST_COMMAND = "pip install -e '.[test]' && python -m pytest -n auto -q"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    pairs = [line.split(None, 1) for line in logical]
    return [(words[0].upper(), words[1] if len(words) > 1 else "") for words in pairs]


def _dockerfile() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


def _args(name: str) -> list[str]:
    return [args for instruction, args in _dockerfile() if instruction == name]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def env_assignments(args: str) -> dict[str, str]:
    """`ENV A=1 B="two"` -> {"A": "1", "B": "two"} (the `ENV A 1` legacy form too)."""
    pairs = re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)', args)
    if not pairs and len(parts := args.split(None, 1)) == 2:
        return {parts[0]: parts[1]}
    return {key: value.strip('"') for key, value in pairs}


def _docker_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in _args("ENV"):
        env.update(env_assignments(args))
    return env


def _takes_effect(variable: str) -> bool:
    """Whether some value of `variable` changes (or is rejected by) Settings.from_env."""
    baseline = Settings.from_env({})
    for probe in ("1", "2", "probe"):
        try:
            if Settings.from_env({variable: probe}) != baseline:
                return True
        except ValueError:
            return True
    return False


def settings_variables() -> set[str]:
    """The QSTASH_EMULATOR_* names of Settings' fields that from_env actually honours."""
    declared = {ENV_PREFIX + item.name.upper() for item in fields(Settings)}
    return {variable for variable in declared if _takes_effect(variable)}


def _copy_sources() -> list[str]:
    sources: list[str] = []
    for args in _args("COPY"):
        words = [w for w in args.split() if not w.startswith("--")]
        sources += [w.removeprefix("./").rstrip("/") for w in words[:-1]]
    return sources


def test_instructions_parser_joins_continuations() -> None:
    text = "# c\nFROM x\nENV A=1 \\\n    B=2\nCMD [\"a\"]\n"
    assert instructions(text) == [("FROM", "x"), ("ENV", "A=1 B=2"), ("CMD", '["a"]')]
    assert env_assignments('A=1 B="two words"') == {"A": "1", "B": "two words"}


def test_base_image_is_slim_python_311() -> None:
    bases = _args("FROM")
    assert bases
    assert all(re.fullmatch(r"python:3\.11-slim(\S*)?", base.split()[0]) for base in bases)


def test_runs_as_a_non_root_user() -> None:
    users = _args("USER")
    assert users, "the image must switch to a non-root USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_exposes_8080() -> None:
    assert "8080" in " ".join(_args("EXPOSE")).split()


def test_healthcheck_uses_python_urllib_on_the_health_route() -> None:
    (check,) = _args("HEALTHCHECK")
    assert "/__emulator__/health" in check
    assert "urllib" in check
    assert "curl" not in check and "wget" not in check


def test_cmd_starts_the_emulator_on_all_interfaces() -> None:
    (cmd,) = _args("CMD")
    assert json.loads(cmd) == ["qstash-emulator", "--host", "0.0.0.0"]


def test_installs_the_package_from_the_copied_source() -> None:
    runs = " ".join(_args("RUN"))
    assert "pip install --no-cache-dir ." in runs


def test_every_qstash_emulator_variable_is_one_settings_reads() -> None:
    known = settings_variables()
    assert {f"{ENV_PREFIX}HOST", f"{ENV_PREFIX}PORT"} <= known
    named = set(re.findall(rf"{ENV_PREFIX}[A-Z0-9_]+", DOCKERFILE.read_text(encoding="utf-8")))
    assert named, "the image sets its defaults through QSTASH_EMULATOR_* variables"
    assert named <= known, f"unknown variables: {sorted(named - known)}"


def test_env_defaults_listen_on_all_interfaces_at_8080() -> None:
    env = {k: v for k, v in _docker_env().items() if k.startswith(ENV_PREFIX)}
    settings = Settings.from_env(env)
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)


def test_env_sets_the_container_mode_that_reaches_the_hosts_apps() -> None:
    env = {k: v for k, v in _docker_env().items() if k.startswith(ENV_PREFIX)}
    assert Settings.from_env(env).localhost_alias == "host.docker.internal"
    assert "--add-host=host.docker.internal:host-gateway" in DOCKERFILE.read_text()
    off = Settings.from_env(env | {f"{ENV_PREFIX}LOCALHOST_ALIAS": ""})
    assert off.localhost_alias is None  # what DockerEmulator sets on the host network


def test_copies_every_wheel_package_and_nothing_else() -> None:
    project = _pyproject()
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    sources = _copy_sources()
    for package in packages:
        assert any(package == s or package.startswith(s + "/") for s in sources), package
    allowed = {"pyproject.toml", project["project"]["readme"]}
    allowed |= {package.split("/")[0] for package in packages}
    assert set(sources) <= allowed, f"copy only what the build needs, not {sources}"


def test_dockerignore_keeps_tests_and_git_out_but_not_the_build_inputs() -> None:
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"tests", ".git"} <= set(ignored)
    assert not set(ignored) & set(_copy_sources())


def test_ci_script_runs_the_documented_test_command() -> None:
    text = CI_RUN.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash") or text.startswith("#!/bin/bash")
    assert "set -euo pipefail" in text
    assert TEST_COMMAND in text.splitlines()
    assert os.access(CI_RUN, os.X_OK), ".ci/run must be executable"



def test_the_plugins_docker_emulator_turns_the_container_mode_off() -> None:
    from pytest_qstash.container import DockerEmulator

    env = DockerEmulator()._environment()
    assert Settings.from_env(env).localhost_alias is None  # host network: 127.0.0.1 is the host

"""The package is ready for PyPI: `python -m build` makes a wheel and an sdist that pass
`twine check`, carrying the license, the metadata and every package (markers included)."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    return out


def _one(dist: Path, pattern: str) -> Path:
    [found] = dist.glob(pattern)
    return found


def test_twine_accepts_the_wheel_and_the_sdist(dist: Path) -> None:
    files = [str(_one(dist, "*.whl")), str(_one(dist, "*.tar.gz"))]
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_wheel_carries_the_license_metadata_and_typed_packages(dist: Path) -> None:
    with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
        names = set(wheel.namelist())
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = wheel.read(metadata).decode()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for classifier in project["classifiers"]:
        assert f"Classifier: {classifier}" in text
    for package in ("qstash_emulator", "qstash_queue", "pytest_qstash"):
        assert f"{package}/py.typed" in names and f"{package}/__init__.py" in names
    assert "Description-Content-Type: text/markdown" in text


def test_the_sdist_builds_again_on_its_own(dist: Path) -> None:
    with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
        names = sdist.getnames()
    assert any(n.endswith("/LICENSE") for n in names)
    assert any(n.endswith("/pyproject.toml") for n in names)
    assert not any("/tests/" in n for n in names)

"""The wheel a plain, non-editable ``pip install .`` gets: code, data files, entry point.

Editable installs read templates straight from the source tree, so a template that
setup.cfg's package_data forgets only breaks real deployments. This builds the wheel
from a copy of the tree and compares it with what is on disk.
"""
from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Every file under these directories must be installed (hidden files and bytecode aside).
SHIPPED_PACKAGES = ("qbwc_bridge", "qbxml_templates", "admin_ui", "qwc")
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", "*.pyc")


def expected_files() -> list[str]:
    return sorted(
        path.relative_to(PROJECT_ROOT).as_posix()
        for package in SHIPPED_PACKAGES
        for path in (PROJECT_ROOT / package).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix != ".pyc"
        and not any(part.startswith(".") for part in path.relative_to(PROJECT_ROOT).parts)
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """Build the wheel once, from a copy, so no build/ or egg-info lands in the checkout."""
    workdir = tmp_path_factory.mktemp("packaging")
    source = workdir / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=NOT_SOURCE)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "-w", str(workdir / "dist"), str(source)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, f"pip wheel failed:\n{result.stdout}{result.stderr}"
    (built,) = (workdir / "dist").glob("qbwc_bridge-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def dist_info_file(wheel: zipfile.ZipFile, name: str) -> str:
    (path,) = [entry for entry in wheel.namelist() if entry.endswith(f".dist-info/{name}")]
    return wheel.read(path).decode()


def test_wheel_carries_every_file_of_the_shipped_packages(wheel):
    files = expected_files()
    assert {"qbxml_templates/__init__.py", "admin_ui/__init__.py", "qwc/__init__.py"} <= set(files)
    missing = sorted(set(files) - set(wheel.namelist()))
    assert missing == [], "not in the wheel (add them to setup.cfg [options.package_data]):\n" + "\n".join(missing)


def test_wheel_declares_the_console_script(wheel):
    entry_points = configparser.ConfigParser()
    entry_points.read_string(dist_info_file(wheel, "entry_points.txt"))
    assert entry_points["console_scripts"]["qbwc-bridge"] == "qbwc_bridge.cli:main"


def test_console_script_module_is_in_the_wheel(wheel):
    assert "qbwc_bridge/cli.py" in wheel.namelist()


def test_wheel_refuses_python_312_and_later(wheel):
    """spyne 2.14 does not import on 3.12+: pip must refuse to install there."""
    metadata = Parser().parsestr(dist_info_file(wheel, "METADATA"))
    requires_python = SpecifierSet(metadata["Requires-Python"])
    assert "3.11.7" in requires_python
    assert "3.12.0" not in requires_python

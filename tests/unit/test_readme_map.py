"""The README's architecture map names every module of the package (issue 12: "every module listed").

The simulator and the fake QuickBooks Online are summed up by their directory, and migrations
by theirs; every other module's file name must appear in the map, so a new module cannot land
without its line.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUMMED_UP = {"simulator", "fake_qbo", "migrations"}


def _map() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme[readme.index("## Architecture"):]


def test_every_module_is_on_the_map():
    text = _map()
    missing = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "qbwc_bridge").rglob("*.py"))
               if not SUMMED_UP & set(path.parts) and path.name != "__init__.py" and path.name not in text]
    assert not missing, f"add these to the README's architecture map: {missing}"

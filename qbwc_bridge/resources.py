"""Where the installed data packages live (templates, .qwc, admin UI).

They are top-level packages (`qbxml_templates`, `admin_ui`, `qwc`) so that a plain,
non-editable ``pip install .`` carries them; we reach them through importlib.resources
and never through paths relative to the source tree.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_dir(package: str) -> Path:
    """Filesystem directory of an installed data package (``qbxml_templates``, ...)."""
    return Path(str(resources.files(package)))

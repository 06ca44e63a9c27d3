"""Intuit's qbXML XSD, loaded once per process, for validating message sets.

The XSDs are reference data in the project's ``shared/`` folder, never copied into
the package: production never needs them (our templates are proven valid by the test
suite); tests, the simulator's fake QuickBooks and support tools do.
"""
from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

from ...errors import ConfigurationError

ENTRY_POINT = "qbxmlops130.xsd"


def schema_dir(shared_dir: Path | None) -> Path:
    """The folder holding Intuit's qbXML 13.0 XSDs.

    Raises:
        ConfigurationError: no shared folder, or it has no XSD.
    """
    if shared_dir is None:
        raise ConfigurationError(
            "Intuit's qbXML schema was not found: set QBWC_BRIDGE_SHARED_DIR to the folder holding qbxml-schema/13.0"
        )
    folder = Path(shared_dir) / "qbxml-schema" / "13.0"
    if not (folder / ENTRY_POINT).is_file():
        raise ConfigurationError(f"{folder / ENTRY_POINT} does not exist (QBWC_BRIDGE_SHARED_DIR)")
    return folder


@functools.lru_cache(maxsize=4)
def load_qbxml_schema(folder: Path) -> etree.XMLSchema:
    """Compile the XSD found in ``folder`` (see :func:`schema_dir`); cached per folder."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(Path(folder) / ENTRY_POINT), parser))

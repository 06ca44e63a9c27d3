"""Fixtures for the qbXML layer: Intuit's schema and annotations, recorded responses."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from lxml import etree

from qbwc_bridge.backends.desktop.qbxml import DEFAULT_VERSION, QbxmlVersion, render_message_set
from qbwc_bridge.backends.desktop.schema import schema_dir
from tests.unit.qbxml.annotations import Annotation, load_annotations

SOAP_RESPONSE = "{http://developer.intuit.com/}response"


@pytest.fixture(scope="session")
def annotations(shared_dir) -> dict[tuple[str, ...], Annotation]:
    return load_annotations(schema_dir(shared_dir))


@pytest.fixture(scope="session")
def recorded(shared_dir) -> Path:
    return shared_dir / "fixtures" / "recorded"


def unwrap_soap(path: Path) -> str:
    """The qbXML text a Web Connector POSTed in receiveResponseXML's <response>."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(str(path), parser).find(f".//{SOAP_RESPONSE}").text


@pytest.fixture(scope="session")
def schema_errors(qbxml_schema) -> Callable[..., list[str]]:
    """Wrap rendered requests in a message set and return Intuit's XSD complaints (empty = valid)."""

    def check(fragments: Sequence[str], version: QbxmlVersion = DEFAULT_VERSION) -> list[str]:
        document = etree.fromstring(render_message_set(list(fragments), version).encode("utf-8"))
        if qbxml_schema.validate(document):
            return []
        return [f"line {e.line}: {e.message}" for e in qbxml_schema.error_log]

    return check

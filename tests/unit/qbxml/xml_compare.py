"""assert_xml_equal: compare XML as a tree, ignoring whitespace between elements (zeep's helper, smaller)."""
from __future__ import annotations

from lxml import etree


def _normalise(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else text
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True, load_dtd=False)
    return etree.tostring(etree.fromstring(data, parser), method="c14n")


def assert_xml_equal(actual: str | bytes, expected: str | bytes) -> None:
    left, right = _normalise(actual), _normalise(expected)
    assert left == right, f"XML differs:\n actual:   {left.decode()}\n expected: {right.decode()}"

"""Reads Intuit's qbxmlops130-annotated-samples.xml: per element path, its version and max length.

Each element of the sample carries a comment on its own line such as
``<!-- opt, max length = 31 for QBD|QBCA|QBUK|QBAU, v7.0 -->``. Tests use this to
check our hard-coded limits and versions against Intuit's, and to prove that no
rendered element is newer than the version it was rendered for.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from qbwc_bridge.backends.desktop.qbxml import QbxmlVersion

SAMPLES = "qbxmlops130-annotated-samples.xml"
_VERSION = re.compile(r"\bv(\d+\.\d+)\b")
_MAX_LENGTH = re.compile(r"max length = (\d+)(?: for ([A-Z|]+))?")


@dataclass(frozen=True)
class Annotation:
    own_version: QbxmlVersion | None
    version: QbxmlVersion  # effective: the newest of the element and its ancestors
    max_length_qbd: int | None


def _comment_of(element: etree._Element) -> str:
    candidates = [element.getnext()]
    if len(element):
        candidates.append(element[0])
    for node in candidates:
        if node is not None and node.tag is etree.Comment and node.sourceline == element.sourceline:
            return node.text or ""
    return ""


def _parse(comment: str) -> tuple[QbxmlVersion | None, int | None]:
    found = _VERSION.search(comment)
    version = QbxmlVersion.parse(found.group(1)) if found else None
    max_length = None
    for number, editions in _MAX_LENGTH.findall(comment):
        if not editions or "QBD" in editions.split("|"):
            max_length = int(number)
    return version, max_length


@functools.lru_cache(maxsize=2)
def load_annotations(schema_folder: Path) -> dict[tuple[str, ...], Annotation]:
    """Map ``("InvoiceAddRq", "InvoiceAdd", "RefNumber")`` -> Annotation (first occurrence wins)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(str(Path(schema_folder) / SAMPLES), parser).getroot()
    annotations: dict[tuple[str, ...], Annotation] = {}
    base = QbxmlVersion.parse("1.0")

    def walk(element: etree._Element, path: tuple[str, ...], inherited: QbxmlVersion) -> None:
        own, max_length = _parse(_comment_of(element))
        effective = max(inherited, own) if own else inherited
        path = path + (element.tag,)
        annotations.setdefault(path, Annotation(own, effective, max_length))
        for child in element:
            if isinstance(child.tag, str):
                walk(child, path, effective)

    for message_set in root:
        if isinstance(message_set.tag, str):
            for request in message_set:
                if isinstance(request.tag, str):
                    walk(request, (), base)
    return annotations

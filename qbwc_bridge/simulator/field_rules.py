"""Per-field facts the XSD does not carry: QuickBooks Desktop's maximum lengths and the
qbXML version each request field appeared in.

The XSD accepts a 60-character item name and a ``BarCode`` in a 10.0 message set;
QuickBooks Desktop does not (status 3070, or a parse error for a field newer than the
declared version). Intuit states both facts in ``qbxmlops130-annotated-samples.xml``,
one comment per element (``<!-- opt, max length = 31 for QBD|QBCA|QBUK|QBAU, v7.0 -->``).
We read that file instead of copying numbers by hand, so the fake enforces every field's
limit, not just the few we thought of.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

ANNOTATED_SAMPLES = "qbxmlops130-annotated-samples.xml"
_MAX_LENGTH = re.compile(r"max length = (\d+)(?: for ([A-Z|]+))?")
_VERSION = re.compile(r"^v(\d+)\.(\d+)$")

Path_ = tuple[str, ...]


@dataclass(frozen=True)
class FieldRules:
    """Limits of request fields, keyed by element path from the ``*Rq`` element
    (``("CustomerAddRq", "CustomerAdd", "Name")``)."""

    max_lengths: dict[Path_, int] = field(default_factory=dict)
    since_version: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def max_length(self, path: Path_) -> int | None:
        return self.max_lengths.get(path)

    def introduced_in(self, path: Path_) -> tuple[int, int] | None:
        return self.since_version.get(path)


def _annotation(element: etree._Element) -> str:
    """The comment written on the same line as ``element`` (first child or next sibling)."""
    candidates = [element[0]] if len(element) else []
    following = element.getnext()
    if following is not None:
        candidates.append(following)
    for candidate in candidates:
        if candidate.tag is etree.Comment and candidate.sourceline == element.sourceline:
            return candidate.text or ""
    return ""


def _parse_annotation(text: str) -> tuple[int | None, tuple[int, int] | None]:
    max_length = None
    for clause in (part.strip() for part in text.split(",")):
        match = _MAX_LENGTH.fullmatch(clause)
        if match and (match.group(2) is None or "QBD" in match.group(2).split("|")):
            max_length = int(match.group(1))
    version = None
    for clause in (part.strip() for part in text.split(",")):
        match = _VERSION.match(clause)
        if match:
            version = (int(match.group(1)), int(match.group(2)))
    return max_length, version


@functools.lru_cache(maxsize=4)
def load_field_rules(schema_folder: Path) -> FieldRules:
    """Read the request half of Intuit's annotated samples in ``schema_folder``."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    root = etree.parse(str(Path(schema_folder) / ANNOTATED_SAMPLES), parser).getroot()
    rules = FieldRules()
    requests = root.find("QBXMLMsgsRq")
    if requests is None:
        return rules

    def walk(element: etree._Element, path: Path_) -> None:
        max_length, version = _parse_annotation(_annotation(element))
        if max_length is not None:
            rules.max_lengths.setdefault(path, max_length)
        if version is not None:
            rules.since_version.setdefault(path, version)
        for child in element:
            if isinstance(child.tag, str):
                walk(child, path + (child.tag,))

    for request in requests:
        if isinstance(request.tag, str):
            walk(request, (request.tag,))
    return rules

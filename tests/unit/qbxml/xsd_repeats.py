"""Which children Intuit's XSD lets repeat inside a *Ret (to check parse.REPEATED_ELEMENTS)."""
from __future__ import annotations

from pathlib import Path

from lxml import etree

XS = "{http://www.w3.org/2001/XMLSchema}"
_CONTAINERS = {XS + name for name in ("sequence", "choice", "all", "complexType", "complexContent", "extension")}


def repeatable_in_rets(folder: Path) -> tuple[set[str], set[str]]:
    """(names that may repeat somewhere in a Ret, names that occur at most once somewhere in a Ret)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    roots = [etree.parse(str(Path(folder) / name), parser).getroot() for name in ("qbxml130.xsd", "qbxmlops130.xsd")]
    types = {n.get("name"): n for r in roots for n in r.iter(XS + "complexType") if n.get("name")}
    groups = {n.get("name"): n for r in roots for n in r.iter(XS + "group") if n.get("name")}
    elements = {n.get("name"): n for r in roots for n in r.findall(XS + "element")}
    repeated: set[str] = set()
    single: set[str] = set()

    def walk(node: etree._Element, inherited: bool, seen: frozenset) -> None:
        for child in node:
            if not isinstance(child.tag, str):
                continue
            many = inherited or child.get("maxOccurs", "1") not in ("0", "1")
            if child.tag == XS + "element":
                name = child.get("name") or child.get("ref")
                (repeated if many else single).add(name)
                target = elements.get(child.get("ref")) if child.get("ref") else child
                type_name = target.get("type")
                if type_name in types and type_name not in seen:
                    walk(types[type_name], False, seen | {type_name})
                if ("element", name) not in seen:
                    walk(target, False, seen | {("element", name)})
            elif child.tag == XS + "group" and child.get("ref") in groups and child.get("ref") not in seen:
                walk(groups[child.get("ref")], many, seen | {child.get("ref")})
            elif child.tag in _CONTAINERS:
                if child.tag == XS + "extension" and child.get("base") in types:
                    walk(types[child.get("base")], many, seen)
                walk(child, many, seen)

    for name, element in elements.items():
        if name and name.endswith("Ret"):
            walk(element, False, frozenset())
    return repeated, single

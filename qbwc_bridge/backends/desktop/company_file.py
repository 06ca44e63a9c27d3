"""Reads the HCP response (first sendRequestXML) to verify the company file and version.

QBWC stamps the .qwc's FileID into the company file (a DataExt named "FileID" under our
OwnerID) when the .qwc is added, so even the first session can prove the open file is
this account's. Nothing is sent to a file that does not carry our FileID.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from ...errors import WrongCompanyFile
from .qbxml import DEFAULT_VERSION, QbxmlVersion
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class CompanyFacts:
    company_name: str | None
    product_name: str | None
    supported_versions: tuple[QbxmlVersion, ...]
    file_ids: dict[str, str] = field(default_factory=dict)  # OwnerID (upper) -> FileID value

    def file_id_for(self, owner_id: str) -> str | None:
        return self.file_ids.get(owner_id.upper())


class UnreadableHcpResponse(WrongCompanyFile):
    """QuickBooks' description of the company file could not be read; nothing is sent."""


def parse_hcp_response(text: str) -> CompanyFacts:
    """Raises: UnreadableHcpResponse on malformed XML or a DOCTYPE."""
    try:
        root = etree.fromstring(text.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise UnreadableHcpResponse(
            f"QuickBooks' description of the open company file was not readable XML ({exc.msg}); nothing was sent",
            action="Run the Web Connector again; if this repeats, contact support with the exchange log.",
        ) from None
    if root.getroottree().docinfo.doctype:
        raise UnreadableHcpResponse("The HCP response carried a DOCTYPE; it was refused and nothing was sent")
    versions = []
    for node in root.iter("SupportedQBXMLVersion"):
        try:
            versions.append(QbxmlVersion.parse(node.text or ""))
        except ValueError:
            continue  # a version we cannot read is one we cannot speak
    file_ids = {}
    for ext in root.iter("DataExtRet"):
        if (ext.findtext("DataExtName") or "").strip() == "FileID":
            owner = (ext.findtext("OwnerID") or "").strip().upper()
            file_ids[owner] = (ext.findtext("DataExtValue") or "").strip()
    return CompanyFacts(
        company_name=(root.findtext(".//CompanyRet/CompanyName") or None),
        product_name=(root.findtext(".//HostRet/ProductName") or None),
        supported_versions=tuple(sorted(set(versions))),
        file_ids=file_ids,
    )


def verify_company_file(facts: CompanyFacts, owner_id: str, file_id: str) -> None:
    """Raises: WrongCompanyFile when the open file is not this account's."""
    found = facts.file_id_for(owner_id)
    name = f'"{facts.company_name}"' if facts.company_name else "The open company file"
    if found is None:
        raise WrongCompanyFile(
            f"{name} was never connected to this BlueTrace account (it carries no BlueTrace file id), so nothing was sent.",
            action="Open the company file you connected, or add this account's .qwc file to the Web Connector "
            "while the right company file is open.",
        )
    if found.upper() != file_id.upper():
        raise WrongCompanyFile(
            f"{name} belongs to another BlueTrace account, so nothing was sent to it.",
            action="Open the company file connected to this account in QuickBooks, then run the Web Connector again.",
        )


def negotiate_version(facts: CompanyFacts | None, major: int | None, minor: int | None) -> QbxmlVersion:
    """The highest qbXML version both sides support (never above what QuickBooks reports).

    Ours is the newest our templates are written against (``DEFAULT_VERSION``).
    """
    ceiling = DEFAULT_VERSION
    if major:
        ceiling = min(ceiling, QbxmlVersion(major, minor or 0))
    if facts and facts.supported_versions:
        usable = [v for v in facts.supported_versions if v <= ceiling]
        if usable:
            return max(usable)
        return min(facts.supported_versions)
    return ceiling


"""Our hard-coded lengths, versions and repeatable elements are Intuit's (annotated samples and XSD)."""
from __future__ import annotations

import pytest
from lxml import etree

from qbwc_bridge.backends.desktop.qbxml import fields as f
from qbwc_bridge.backends.desktop.qbxml import render_request
from qbwc_bridge.backends.desktop.qbxml.parse import REPEATED_ELEMENTS
from qbwc_bridge.backends.desktop.qbxml.versions import OLDEST_SUPPORTED, QbxmlVersion
from qbwc_bridge.backends.desktop.qbxml.render import (
    CUSTOMER_RET_ELEMENTS,
    ITEM_RET_ELEMENTS,
    REQUESTS,
    RET_ELEMENT_SINCE,
)
from qbwc_bridge.backends.desktop.schema import schema_dir
from tests.unit.qbxml.xsd_repeats import repeatable_in_rets

MINIMAL = {
    "ItemServiceAdd": {"name": "N", "income_account_list_id": "1-1", "expense_account_list_id": "2-2"},
    "ItemNonInventoryAdd": {"name": "N", "income_account_list_id": "1-1", "expense_account_list_id": "2-2"},
    "ItemInventoryAdd": {"name": "N", "income_account_list_id": "1-1", "cogs_account_list_id": "3-3",
                         "asset_account_list_id": "4-4"},
    "CustomerAdd": {"name": "N"},
    "InvoiceAdd": {"customer_list_id": "5-5", "lines": [{"item_list_id": "6-6"}]},
}  # fmt: skip
MARKER = "Q"


def _text_fields(fields, prefix=()):
    for key, field in fields.items():
        if field.kind is f.Kind.GROUP:
            yield from _text_fields(field.children, prefix + (key,))
        elif field.kind is f.Kind.TEXT and field.max_length:
            yield prefix + (key,), field


def _data_with(request_type: str, key_path: tuple[str, ...], value):
    data = {k: (list(v) if isinstance(v, list) else v) for k, v in MINIMAL.get(request_type, {}).items()}
    field = REQUESTS[request_type].fields[key_path[0]]
    if len(key_path) == 1:
        data[key_path[0]] = [value] if field.repeated else value
    elif field.repeated:  # invoice lines
        data[key_path[0]] = [{**data[key_path[0]][0], key_path[1]: value}]
    else:  # addresses
        data[key_path[0]] = {key_path[1]: value}
    return data


def _path_of(fragment: str, text: str) -> tuple[str, ...]:
    root = etree.fromstring(fragment.encode("utf-8"))
    (element,) = [e for e in root.iter() if e.text == text]
    return tuple(e.tag for e in reversed(list(element.iterancestors()))) + (element.tag,)


CASES = [(rt, path, field) for rt in sorted(REQUESTS) for path, field in _text_fields(REQUESTS[rt].fields)]


@pytest.mark.parametrize(("request_type", "key_path", "field"), CASES, ids=[f"{c[0]}.{'.'.join(c[1])}" for c in CASES])
def test_text_limit_is_intuits(request_type, key_path, field, annotations):
    value = MARKER * field.max_length
    fragment = render_request(request_type, "r", _data_with(request_type, key_path, value))
    path = _path_of(fragment, value)
    intuit = annotations[path].max_length_qbd
    if intuit is None:  # query filters: Intuit states no limit; ours is the longest name that can exist
        assert key_path[0] in ("full_names", "ref_numbers")
    else:
        assert field.max_length == intuit, f"{'/'.join(path)}: Intuit allows {intuit}"


VERSIONED = [
    (rt, path, field)
    for rt in sorted(REQUESTS)
    for path, field in (
        [((k,), v) for k, v in REQUESTS[rt].fields.items() if v.since and v.kind is not f.Kind.GROUP]
        + [((k, ck), cv) for k, v in REQUESTS[rt].fields.items() if v.children for ck, cv in v.children.items() if cv.since]
    )
    if path != ("include_ret_elements",)
]  # fmt: skip
_GUID = "{6F1C5A8E-2B9D-4C1E-9A57-0E2F3B4C5D6E}"
_SAMPLE = {f.Kind.TEXT: ("QQQ", "QQQ"), f.Kind.ID: ("7-7", "7-7"), f.Kind.GUID: (_GUID, _GUID), f.Kind.BOOL: (True, "true")}


@pytest.mark.parametrize(("request_type", "key_path", "field"), VERSIONED, ids=[f"{c[0]}.{'.'.join(c[1])}" for c in VERSIONED])
def test_element_version_is_intuits(request_type, key_path, field, annotations):
    value, text = _SAMPLE[field.kind]
    data = _data_with(request_type, key_path, value)
    fragment = render_request(request_type, "r", data, max(field.since, OLDEST_SUPPORTED))
    path = _path_of(fragment, text)
    assert annotations[path].version == field.since
    older = QbxmlVersion(field.since.major - 1, 0)
    if older >= OLDEST_SUPPORTED:
        assert f">{text}<" not in render_request(request_type, "r", data, older)


def test_ret_elements_we_ask_for_exist_from_the_version_we_assume(annotations):
    for rs, names in (("ItemQueryRs", ITEM_RET_ELEMENTS), ("CustomerQueryRs", CUSTOMER_RET_ELEMENTS)):
        for name in names:
            versions = [a.own_version or f.V("1.0") for p, a in annotations.items() if p[0] == rs and p[2:] == (name,)]
            assert versions, f"{name} is not an element of any {rs} Ret"
            assert min(versions) == RET_ELEMENT_SINCE.get(name, f.V("1.0")), name


def test_repeatable_children_are_the_xsds(shared_dir):
    repeated, single = repeatable_in_rets(schema_dir(shared_dir))
    assert REPEATED_ELEMENTS == repeated - single

"""Pure matching: SKU and email keys, duplicates on both sides, pins, suggestions."""
from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from qbwc_bridge.domain import IssueType, ItemMatchField
from qbwc_bridge.sync.matching import (
    BtCustomerFacts,
    BtItemFacts,
    QbCustomerFacts,
    QbItemFacts,
    email_key,
    email_keys,
    exact_key,
    local_part,
    loose_key,
    match_customers,
    match_items,
    name_key,
)

LOCALS = ["ap", "ann", "bob", "orders"]
DOMAINS = ["acme.test", "blue.test"]
emails = st.builds(lambda user, domain: f"{user}@{domain}", st.sampled_from(LOCALS), st.sampled_from(DOMAINS))
separators = st.sampled_from([",", ";", ", ", "; ", " ;"])


@st.composite
def customer_lists(draw):
    """BlueTrace and QuickBooks customers drawn from few addresses, so collisions are common."""
    bt = [
        BtCustomerFacts(f"bt{n}", draw(st.one_of(st.none(), st.just("  "), emails)), f"Customer {n}")
        for n in range(draw(st.integers(0, 8)))
    ]
    qb = []
    for n in range(draw(st.integers(0, 8))):
        addresses = draw(st.lists(emails, max_size=3))
        field = draw(separators).join(addresses) if addresses else None
        qb.append(QbCustomerFacts(f"QB{n}", f"QB customer {n}", f"QB customer {n}", None, field,
                                  draw(st.booleans()) or n % 3 != 0))
    return bt, qb


def messy(text: str | None, draw) -> str | None:
    """The same address as a person might type it: other case, spaces around."""
    if text is None:
        return None
    cased = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in text)
    return draw(st.sampled_from(["", " ", "\t"])) + cased + draw(st.sampled_from(["", " ", "  "]))


@settings(max_examples=150, deadline=None)
@given(customer_lists())
def test_every_customer_gets_exactly_one_state(lists):
    bt, qb = lists
    decisions = match_customers(bt, qb)
    assert set(decisions) == {c.id for c in bt}
    for decision in decisions.values():
        assert (decision.qb_list_id is None) != (decision.issue is None)


@settings(max_examples=150, deadline=None)
@given(customer_lists())
def test_a_match_shares_the_email_and_one_address_makes_one_pair(lists):
    """Two BlueTrace customers may match one QuickBooks customer only through two of its addresses."""
    bt, qb = lists
    decisions = match_customers(bt, qb)
    by_id = {q.list_id: q for q in qb}
    pairs = [(d.qb_list_id, c.email.strip().lower()) for c in bt if (d := decisions[c.id]).qb_list_id]
    assert len(pairs) == len(set(pairs))
    for customer in bt:
        decision = decisions[customer.id]
        if decision.qb_list_id:
            qb_customer = by_id[decision.qb_list_id]
            assert qb_customer.active
            assert customer.email.strip().lower() in email_keys(qb_customer.email)


@settings(max_examples=150, deadline=None)
@given(customer_lists(), st.data())
def test_matching_ignores_case_and_surrounding_spaces_of_emails(lists, data):
    bt, qb = lists
    messy_bt = [c._replace(email=messy(c.email, data.draw)) for c in bt]
    messy_qb = [q._replace(email=messy(q.email, data.draw)) for q in qb]
    plain = match_customers(bt, qb)
    other = match_customers(messy_bt, messy_qb)
    assert {k: (d.qb_list_id, d.issue) for k, d in plain.items()} == {
        k: (d.qb_list_id, d.issue) for k, d in other.items()
    }


@settings(max_examples=150, deadline=None)
@given(customer_lists())
def test_a_shared_email_on_either_side_is_a_duplicate_match(lists):
    bt, qb = lists
    decisions = match_customers(bt, qb)
    for customer in bt:
        key = (customer.email or "").strip().lower()
        if not key:
            assert decisions[customer.id].issue is IssueType.MISSING_EMAIL
            continue
        bt_sharing = [c for c in bt if (c.email or "").strip().lower() == key]
        qb_sharing = [q for q in qb if q.active and key in email_keys(q.email)]
        expected = (
            None if len(bt_sharing) == 1 and len(qb_sharing) == 1
            else IssueType.DUPLICATE_MATCH if qb_sharing
            else IssueType.NOT_FOUND
        )
        assert decisions[customer.id].issue is expected
        if expected is IssueType.DUPLICATE_MATCH:
            assert {c.quickbooks_id for c in decisions[customer.id].candidates} == {q.list_id for q in qb_sharing}


@settings(max_examples=100, deadline=None)
@given(customer_lists(), st.data())
def test_deciding_a_few_records_agrees_with_deciding_all(lists, data):
    bt, qb = lists
    everyone = match_customers(bt, qb)
    few = data.draw(st.sets(st.sampled_from([c.id for c in bt]))) if bt else set()
    assert match_customers(bt, qb, targets=few) == {k: everyone[k] for k in few}


def test_an_email_field_with_several_addresses_matches_any_of_them():
    qb = [QbCustomerFacts("Q1", "Acme", "Acme", None, "ap@acme.test;  Boss@Acme.test , x@y.test")]
    for typed in ("boss@acme.test", " BOSS@ACME.TEST ", "x@y.test"):
        decisions = match_customers([BtCustomerFacts("c", typed, "Acme")], qb)
        assert decisions["c"].qb_list_id == "Q1", typed
    assert email_keys("a@x.test ; a@x.test,b@x.test") == ("a@x.test", "b@x.test")


def test_picked_pairs_leave_the_rest_unambiguous():
    qb = [QbCustomerFacts("P", "Ann", "Ann", None, "ap@x.test"), QbCustomerFacts("Q", "Bob", "Bob", None, "ap@x.test")]
    bt = [BtCustomerFacts("a", "ap@x.test", "Ann"), BtCustomerFacts("b", "ap@x.test", "Bob")]
    decisions = match_customers(bt, qb)
    assert {d.issue for d in decisions.values()} == {IssueType.DUPLICATE_MATCH}
    assert decisions["a"].shared_with == ("b",)
    bt[0] = bt[0]._replace(pinned="P")
    decisions = match_customers(bt, qb)
    assert decisions["a"] == decisions["a"]._replace(qb_list_id="P", issue=None, pinned=True)
    assert (decisions["b"].qb_list_id, decisions["b"].issue) == ("Q", None)


def test_a_job_repeating_its_customers_email_does_not_make_a_duplicate():
    qb = [
        QbCustomerFacts("P", "Acme", "Acme", None, "ap@acme.test"),
        QbCustomerFacts("J", "Job 1", "Acme:Job 1", None, "ap@acme.test", parent="P"),
    ]
    assert match_customers([BtCustomerFacts("c", "ap@acme.test", "Acme")], qb)["c"].qb_list_id == "P"


def test_pins_hold_while_their_record_is_active_and_rejections_hold():
    qb = [QbCustomerFacts("P", "Ann", "Ann", None, "ann@x.test"), QbCustomerFacts("Z", "Zed", "Zed", None, None, False)]
    pinned = BtCustomerFacts("c", "other@x.test", "Whoever", pinned="P")
    assert match_customers([pinned], qb)["c"].pinned
    gone = BtCustomerFacts("c", "ann@x.test", "Ann", pinned="Z")
    assert match_customers([gone], qb)["c"].qb_list_id == "P"  # the pin's record is inactive: match anew
    rejected = BtCustomerFacts("c", "ann@x.test", "Ann", rejected=frozenset({"P"}))
    decision = match_customers([rejected], qb)["c"]
    assert decision.issue is IssueType.NOT_FOUND and not decision.candidates


def test_customer_suggestions_same_name_then_same_mailbox_but_not_role_mailboxes():
    qb = [
        QbCustomerFacts("N", "Harbor Goods", "Harbor Goods", None, "old@harbor.test"),
        QbCustomerFacts("U", "Someone", "Someone", None, "ann.lee@other.test"),
        *[QbCustomerFacts(f"R{n}", f"R{n}", f"R{n}", None, f"ap@r{n}.test") for n in range(8)],
    ]
    decision = match_customers([BtCustomerFacts("c", "ann.lee@harbor.test", " harbor  GOODS ")], qb)["c"]
    assert decision.issue is IssueType.NOT_FOUND
    assert [(c.quickbooks_id, c.reason) for c in decision.candidates] == [("N", "same_name"), ("U", "same_email_user")]
    role = match_customers([BtCustomerFacts("c", "ap@new.test", "New")], qb)["c"]
    assert role.candidates == ()
    missing = match_customers([BtCustomerFacts("c", None, "Someone")], qb)["c"]
    assert missing.issue is IssueType.MISSING_EMAIL and [c.quickbooks_id for c in missing.candidates] == ["U"]


# ----------------------------------------------------------------------------- items
skus = st.text(alphabet="ab-1 ", min_size=0, max_size=4)


@st.composite
def item_lists(draw):
    bt = [BtItemFacts(f"i{n}", draw(st.one_of(st.none(), skus)), f"Item {n}") for n in range(draw(st.integers(0, 8)))]
    qb = [
        QbItemFacts(f"QI{n}", name, name, draw(st.one_of(st.none(), skus)), None, draw(st.booleans()))
        for n, name in enumerate(draw(st.lists(skus.filter(str.strip), max_size=8)))
    ]
    return bt, qb


@settings(max_examples=150, deadline=None)
@given(item_lists(), st.sampled_from([ItemMatchField.NAME, ItemMatchField.MANUFACTURER_PART_NUMBER]))
def test_every_item_gets_one_state_and_matches_share_the_sku(lists, field):
    bt, qb = lists
    decisions = match_items(bt, qb, field)
    by_id = {q.list_id: q for q in qb}
    assert set(decisions) == {i.id for i in bt}
    for item in bt:
        decision = decisions[item.id]
        assert (decision.qb_list_id is None) != (decision.issue is None)
        if not (item.sku or "").strip():
            assert decision.issue is IssueType.MISSING_SKU
        if decision.qb_list_id:
            value = by_id[decision.qb_list_id].name if field is ItemMatchField.NAME else \
                by_id[decision.qb_list_id].manufacturer_part_number
            assert value.strip().casefold() == item.sku.strip().casefold()
        if decision.issue is IssueType.DUPLICATE_MATCH:
            assert len(decision.candidates) > 1 or decision.shared_with


def test_items_match_on_the_configured_field():
    qb = [QbItemFacts("A", "Blue widget", "Blue widget", "BW-1", "0123", True)]
    item = [BtItemFacts("i", " bw-1 ", "Blue widget")]
    assert match_items(item, qb, ItemMatchField.NAME)["i"].issue is IssueType.NOT_FOUND
    assert match_items(item, qb, ItemMatchField.MANUFACTURER_PART_NUMBER)["i"].qb_list_id == "A"
    assert match_items([BtItemFacts("i", "0123", "x")], qb, ItemMatchField.BARCODE)["i"].qb_list_id == "A"


def test_two_quickbooks_items_with_one_part_number_are_a_duplicate_match():
    qb = [QbItemFacts("A", "Widget", "Widget", "W-1", None), QbItemFacts("B", "Widget 2", "Widget 2", "w-1", None)]
    decision = match_items([BtItemFacts("i", "W-1", "Widget")], qb, ItemMatchField.MANUFACTURER_PART_NUMBER)["i"]
    assert decision.issue is IssueType.DUPLICATE_MATCH
    assert [c.quickbooks_id for c in decision.candidates] == ["A", "B"]


def test_item_suggestions_ignore_case_spaces_and_dashes_and_offer_same_names():
    qb = [
        QbItemFacts("S", "AB 12-x", "AB 12-x", None, None),
        QbItemFacts("N", "Other", "Other", None, None),
        QbItemFacts("M", "ab12X-matched", "ab12X-matched", None, None),
    ]
    bt = [BtItemFacts("i", "ab-12x", "other"), BtItemFacts("m", "AB12X-MATCHED", "m")]
    decision = match_items(bt, qb)["i"]
    assert decision.issue is IssueType.NOT_FOUND
    assert [(c.quickbooks_id, c.reason) for c in decision.candidates] == [("S", "similar_sku"), ("N", "same_name")]
    assert loose_key(" A b-1\u2013c ") == "ab1c"


def test_an_inactive_item_with_the_sku_is_reported_not_matched():
    qb = [QbItemFacts("Old", "W-1", "W-1", None, None, False)]
    decision = match_items([BtItemFacts("i", "w-1", "Widget")], qb)["i"]
    assert decision.issue is IssueType.NOT_FOUND
    assert [c.quickbooks_id for c in decision.inactive] == ["Old"]


def test_matched_records_are_not_suggested_to_others():
    qb = [QbItemFacts("A", "W-1", "W-1", None, None)]
    decisions = match_items([BtItemFacts("i", "W-1", "x"), BtItemFacts("j", "W1", "y")], qb)
    assert decisions["i"].qb_list_id == "A"
    assert decisions["j"].issue is IssueType.NOT_FOUND and decisions["j"].candidates == ()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet=string.ascii_letters + " -", max_size=6), max_size=6))
def test_loose_key_ignores_only_case_spaces_and_dashes(values):
    for value in values:
        key = loose_key(value)
        assert key is None or (" " not in key and "-" not in key and key == key.casefold())


# Characters where a hand-inlined key could drift from the public key functions: case
# folding that changes length (ß, İ), Unicode spaces and dashes, address separators.
tricky_text = st.text(alphabet=st.sampled_from(list("aAbBsSß İi\u0130-_\u2013\u00a0\t@;,.")), max_size=8)


@settings(max_examples=300, deadline=None)
@given(tricky_text, tricky_text, tricky_text)
def test_item_decisions_follow_the_public_key_functions(sku, name, qb_name):
    """Matching derives its keys inline for speed; one pair shows they are exact_key, loose_key and name_key."""
    decision = match_items([BtItemFacts("bt", sku, name)], [QbItemFacts("Q", qb_name, qb_name, None, None)])["bt"]
    key = exact_key(sku)
    if key is not None and key == exact_key(qb_name):
        assert decision.qb_list_id == "Q"
        return
    assert decision.issue is (IssueType.MISSING_SKU if key is None else IssueType.NOT_FOUND)
    similar = key is not None and loose_key(key) is not None and loose_key(key) == loose_key(qb_name)
    same_name = name_key(name) is not None and name_key(name) == name_key(qb_name)
    assert [c.reason for c in decision.candidates] == ["similar_sku"] * similar + ["same_name"] * (
        same_name and not similar)


@settings(max_examples=300, deadline=None)
@given(tricky_text, tricky_text, tricky_text, tricky_text)
def test_customer_decisions_follow_the_public_key_functions(email, name, qb_email, qb_name):
    """Likewise for email_key, email_keys, name_key and local_part."""
    decision = match_customers([BtCustomerFacts("bt", email, name)],
                               [QbCustomerFacts("Q", qb_name, qb_name, None, qb_email)])["bt"]
    key, qb_keys = email_key(email), email_keys(qb_email)
    if key is not None and key in qb_keys:
        assert decision.qb_list_id == "Q"
        return
    assert decision.issue is (IssueType.MISSING_EMAIL if key is None else IssueType.NOT_FOUND)
    same_name = name_key(name) is not None and name_key(name) == name_key(qb_name)
    user = local_part(key) if key else None
    same_user = user is not None and user in {local_part(k) for k in qb_keys}
    assert [c.reason for c in decision.candidates] == ["same_name"] * same_name + ["same_email_user"] * (
        same_user and not same_name)

"""Match state of BlueTrace items and customers: re-matching and the issues it finds.

Items and customers share one implementation, parameterised by a :class:`~.facts.Side`
(``facts.ITEMS``: SKU against the QuickBooks field the account chose; ``facts.CUSTOMERS``:
billing email against every address in the QuickBooks Email field). Callers name the
side: :func:`rematch` here, a person's actions in :mod:`.resolutions` and :mod:`.creation`.

**Re-matching** decides the targeted records with :mod:`.matching` over what
:mod:`.facts` reads, and writes only the rows whose state changed, in batches. Targeted
re-matches (one record edited, one QuickBooks record changed) also re-decide every
record sharing a key with them and every record in a duplicate match, because one
record's change can end or start someone else's duplicate.

**Issues that come from an action stick.** *Duplicate name* and *create failed* are
QuickBooks' answers to "Create in QuickBooks"; a re-match keeps them (rather than going
back to *not found*, and re-creating in a loop) until the record matches, or a person
creates again (maybe under another name), picks a match or unmatches.

**Automatic creation.** While the account's items (customers) sync is on, a record
that is *not found* - nothing similar in QuickBooks that a person should look at first:
no inactive record with its key, no other BlueTrace record with its key, not just
unmatched by a person, its match not just deleted in QuickBooks - is created in
QuickBooks by itself. A record whose match someone deleted (``issue_detail["gone"]``, set
by :mod:`.deletions`) waits for a person instead: re-creating what a bookkeeper has just
deleted would undo their work behind their back.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import IssueType, ItemMatchField, MatchedBy
from ..store.db import plain_rows
from ..store.models import Account
from ..webhooks import events as webhook_events
from . import facts, invoices, matching, mirror, pulls
from .creation import create_automatically
from .facts import ITEMS, PINNED_BY, STREAM, Side

STICKY = (IssueType.DUPLICATE_NAME.value, IssueType.CREATE_FAILED.value)
AUTO = MatchedBy.AUTO.value
UNMATCHED = (IssueType.NOT_FOUND, IssueType.MISSING_SKU, IssueType.MISSING_EMAIL)  # the issues with suggestions
FIELD_WORDS = {
    ItemMatchField.NAME: "item name",
    ItemMatchField.SKU: "SKU",
    ItemMatchField.MANUFACTURER_PART_NUMBER: "manufacturer part number",
    ItemMatchField.BARCODE: "bar code",
}
GONE_WORDS = " It was matched to the QuickBooks {noun} \u201c{name}\u201d, which was deleted or merged away in QuickBooks."
# What an issue means and what to do about it, per noun, in the help article's words: (message, action).
# ``{shown}`` is the record's key as typed; ``{where}`` is the item match field ("as its bar code").
ISSUE_WORDS: dict[str, dict[IssueType, tuple[str, str]]] = {
    "item": {
        IssueType.MISSING_SKU: ("This item has no SKU in BlueTrace, so it cannot be matched to QuickBooks.",
                                "Enter the SKU in BlueTrace; the bridge then looks for a match in QuickBooks."),
        IssueType.NOT_FOUND: ("No QuickBooks item has \u201c{shown}\u201d {where}.",
                              "If the item is in QuickBooks, enter \u201c{shown}\u201d there {where} and click "
                              "Re-sync; otherwise click Create in QuickBooks."),
        IssueType.DUPLICATE_MATCH: ("Several records carry the SKU \u201c{shown}\u201d.",
                                    "Pick the QuickBooks item that matches this one."),
    },
    "customer": {
        IssueType.MISSING_EMAIL: ("This customer has no billing email in BlueTrace, so it cannot be matched.",
                                  "Enter the billing email in BlueTrace; the bridge then looks for a match."),
        IssueType.NOT_FOUND: ("No QuickBooks customer has \u201c{shown}\u201d in its Email.",
                              "If the customer is in QuickBooks, add \u201c{shown}\u201d to its Email there and "
                              "click Re-sync; otherwise click Create in QuickBooks."),
        IssueType.DUPLICATE_MATCH: ("Several customers share the email \u201c{shown}\u201d.",
                                    "Pick the QuickBooks customer that matches this one."),
    },
}


def rematch(db: Session, account: Account, side: Side, ids: Iterable[str] | None = None,
            changed_qb: Iterable[str] | None = None) -> None:
    """Re-decide the given BlueTrace records (None and no ``changed_qb``: all of them).

    ``changed_qb``: ids of the QuickBooks records that changed; the records matched to them or
    carrying one of their keys are re-decided too. Does nothing before the list's initial
    pull is done (there is nothing complete to match against yet). Ends with the invoice
    engine's re-evaluation, so blocked invoices go out once their matches exist.
    """
    if not pulls.initial_done(db, account.id, side.list_name):
        return
    field = facts.match_field(account)
    decide = (lambda bt, qb, targets: matching.match_items(bt, qb, field, targets)) if side is ITEMS else \
        matching.match_customers
    found = None
    if ids is not None or changed_qb is not None:
        ids, changed_qb = list(ids or ()), sorted(set(changed_qb or ()))
        found = facts.neighbourhood(db, side, account, ids, changed_qb, field, suggestions=False)
        if found is not None and any(d.issue in UNMATCHED for d in decide(*found).values()):
            found = facts.neighbourhood(db, side, account, ids, changed_qb, field, suggestions=True)
    if found is None and ids is None and changed_qb is None:  # every record
        # QuickBooks' records are read by matching alone, which keeps what it derives of each, not the record.
        bt, qb, targets = facts.bt_facts(db, side, account), facts.each_qb_fact(db, side, account), None
    elif found is None:  # too many targets to look up one by one
        bt, qb = facts.bt_facts(db, side, account), facts.qb_facts(db, side, account)
        targets = facts.targets_of(db, side, account, bt, qb, ids, changed_qb, field)
    else:
        bt, qb, targets = found
    if targets is not None and not targets:
        invoices.on_matches_changed(db, account)
        return
    decisions = decide(bt, qb, targets)
    keys = {fact.id: fact.sku if side is ITEMS else fact.email  # the key as typed, for the issue messages
            for fact in bt if (decided := decisions.get(fact.id)) is not None and decided.issue is not None}
    del bt, qb  # what matching needed: the writes below need only decisions
    _apply(db, side, account, decisions, keys, field, everything=targets is None)
    invoices.on_matches_changed(db, account)


def _state_batches(db: Session, side: Side, account: Account, decisions: dict, everything: bool) -> Iterator[list]:
    """The decided records' match state as stored, at most STREAM rows at a time.

    Re-deciding every record reads the list in key order, one range after the other (a scan
    of the primary key, cheaper than looking 100k ids up through IN lists); otherwise
    the ids are looked up. Each batch is fetched whole, so no cursor is open while the
    caller writes.
    """
    model = side.model
    columns = (side.column(), model.qb_list_id, model.matched_by, model.issue, model.issue_detail, model.pending,
               model.active)
    if not everything:
        ordered = sorted(decisions)
        for start in range(0, len(ordered), STREAM):
            yield list(plain_rows(db, select(*columns).where(
                model.account_id == account.id, side.column().in_(ordered[start:start + STREAM]))))
        return
    in_order = select(*columns).where(model.account_id == account.id).order_by(side.column()).limit(STREAM)
    last = None
    while True:
        batch = plain_rows(db, in_order if last is None else in_order.where(side.column() > last)).all()
        if not batch:
            return
        last = batch[-1][0]
        yield [row for row in batch if row[0] in decisions]


def _apply(db: Session, side: Side, account: Account, decisions: dict, keys: dict, field: ItemMatchField,
           everything: bool) -> None:
    """Write the rows whose state changed, a few thousand at a time, then queue automatic creations.

    Batches keep memory flat at 100k records: no list of every row's new state, nor of
    every UPDATE's parameters, ever exists. ``everything``: every record was decided.
    Webhook notes and creations follow the records' ids in Python's order, whatever order
    the database read them in.
    """
    creatable, issue_changes = [], []
    automatic = bool(getattr(account, side.sync_switch))
    account_id, id_column = account.id, side.id_column
    for state_rows in _state_batches(db, side, account, decisions, everything):
        # Four shapes of UPDATE, each setting only what changes: an index on a column
        # left out of SET is not touched, which halves the cost of a first full match.
        batches: dict[tuple[bool, bool], list[dict]] = {}
        for record_id, qb_list_id, matched_by, issue, detail, pending, active in state_rows:
            decision = decisions[record_id]
            new_list_id = decision.qb_list_id
            if new_list_id is not None:
                # A match, what most records get: _new_state's outcome without its dict (100k times
                # at the end of an initial pull). A match is never created automatically.
                kept = _kept_matched_by(decision, matched_by)
                if (new_list_id, kept, issue, detail) != (qb_list_id, matched_by, None, None):
                    batches.setdefault((True, issue is None and detail is None), []).append(
                        {"account_id": account_id, id_column: record_id, "qb_list_id": new_list_id, "matched_by": kept})
                if issue is not None:
                    issue_changes.append((record_id, issue))
                continue
            new = _new_state(side, decision, keys.get(record_id), qb_list_id, matched_by, issue, detail, field)
            if (new["issue"], new["issue_detail"], qb_list_id, matched_by) != (issue, detail, None, None):
                batches.setdefault((False, qb_list_id is None and matched_by is None), []).append(
                    {"account_id": account_id, id_column: record_id, "issue": new["issue"],
                     "issue_detail": new["issue_detail"]})
            if new["issue"] != issue:  # bulk writes pass no column listener: note them for webhooks below
                issue_changes.append((record_id, issue))
            if (automatic and active and not pending and new["issue"] == IssueType.NOT_FOUND.value
                    and not decision.inactive and not decision.shared_with
                    and not (new["issue_detail"] or {}).get("rejected")
                    and not (new["issue_detail"] or {}).get("gone")):
                creatable.append(record_id)
        for (is_match, already_clear), rows in batches.items():
            cleared = ({"issue": None, "issue_detail": None} if is_match else {"qb_list_id": None, "matched_by": None})
            mirror.update_rows(db, side.model, rows, constants={} if already_clear else cleared)
    for record_id, issue in sorted(issue_changes):
        webhook_events.match_issue_changing(db, account.id, side.noun, record_id, issue)
    for record_id in sorted(creatable):
        create_automatically(db, account, side, record_id)


def _kept_matched_by(decision, matched_by: str | None) -> str:
    """How a record the decision matches is matched: a person's or the bridge's pin stays, else automatic."""
    return matched_by if decision.pinned and matched_by in PINNED_BY else AUTO


def _new_state(side, decision, raw_key, qb_list_id, matched_by, issue, detail, field) -> dict[str, Any]:
    if decision.qb_list_id is not None:
        return {"qb_list_id": decision.qb_list_id, "matched_by": _kept_matched_by(decision, matched_by), "issue": None,
                "issue_detail": None}
    rejected = (detail or {}).get("rejected")
    if issue in STICKY and decision.issue is IssueType.NOT_FOUND:
        return {"qb_list_id": None, "matched_by": None, "issue": issue, "issue_detail": detail}
    new_detail = describe(side, decision, raw_key, field)
    if rejected:
        new_detail["rejected"] = rejected
    gone = (detail or {}).get("gone")
    if gone:
        new_detail["gone"] = gone
        new_detail["message"] += GONE_WORDS.format(noun=side.noun, name=gone["name"])
    return {"qb_list_id": None, "matched_by": None, "issue": decision.issue.value, "issue_detail": new_detail}


def describe(side: Side, decision: matching.Decision, raw_key: str | None, field: ItemMatchField) -> dict[str, Any]:
    """The ``issue_detail`` JSON of an issue: what happened and what to do, in plain words, and candidates."""
    noun, label = side.noun, side.key_label
    shown = (raw_key or "").strip()
    # Only items have a choice of QuickBooks field to match on; customers always match on the Email field.
    where = ""
    if side is ITEMS:
        where = f"as its {FIELD_WORDS[field]}" if field is not ItemMatchField.NAME else "as its name"
    message, action = (words.format(shown=shown, where=where) for words in ISSUE_WORDS[noun][decision.issue])
    if decision.issue is IssueType.DUPLICATE_MATCH:
        count = len(decision.candidates)
        if count > 1:
            message += f" {count} QuickBooks {noun}s carry it."
        if decision.shared_with:
            message += f" Other BlueTrace {noun}s carry it too: {', '.join(decision.shared_with[:5])}."
    elif decision.inactive:
        names = ", ".join(f"\u201c{c.name}\u201d" for c in decision.inactive[:3])
        message += f" QuickBooks has an inactive {noun} with it: {names}."
        action = f"Make the {noun} active in QuickBooks and click Re-sync, or pick another match."
    elif decision.candidates:
        action += " Or pick one of the suggested QuickBooks records."
    detail: dict[str, Any] = {
        "message": message,
        "action": action,
        "candidates": [candidate.as_json(label) for candidate in decision.candidates],
    }
    if decision.shared_with:
        detail["shared_with"] = list(decision.shared_with)
    if decision.inactive:
        detail["inactive"] = [candidate.as_json(label) for candidate in decision.inactive]
    return detail

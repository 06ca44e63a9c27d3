"""Pure matching of BlueTrace records to QuickBooks records: O(n), no database, no IO.

Items match by SKU against the QuickBooks field the account chose (Desktop has no SKU
field: the item Name by default, or ManufacturerPartNumber, or BarCodeValue);
customers match by billing email against the QuickBooks Email field, which may list
several addresses separated by ``,`` or ``;``. Keys are trimmed and compared ignoring
case, because QuickBooks itself treats names that differ only in case as one name.

Every BlueTrace record asked about gets exactly one :class:`Decision`: a match, or one
issue with candidates a person can accept in one click. Indexes are built once per
call, so 100k x 100k records cost a few dictionary passes, never a nested loop.

Rules, in order, for one BlueTrace record:

1. A *pinned* match (chosen by a person, or a record the bridge created) is kept while
   its QuickBooks record exists and is active.
2. No key (blank SKU / billing email) -> ``missing_sku`` / ``missing_email``.
3. Pinned records on both sides leave the automatic pool, so picking one pair out of a
   duplicate group can leave the rest unambiguous.
4. One active QuickBooks record and one BlueTrace record share the key -> matched.
   A QuickBooks job (sub-customer) that repeats its parent's Email does not count as a
   second customer: the parent is the match. A QuickBooks customer whose Email lists
   two addresses may match two BlueTrace customers, one per address (one company, two
   billing contacts).
5. Several records share the key on either side, and there is something to pick ->
   ``duplicate_match`` with the QuickBooks records as candidates.
6. Otherwise ``not_found``, with suggestions: for items the same SKU ignoring case,
   spaces and dashes, then the same name; for customers the same name or company, then
   the same mailbox name before the ``@`` (unless many customers share it, like
   ``ap@`` or ``info@``, which suggests nothing). An inactive QuickBooks record with the
   exact key is reported, since creating a record with that name would collide.
"""
from __future__ import annotations

import contextlib
import gc
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from typing import Any, NamedTuple

from ..domain import IssueType, ItemMatchField

MAX_CANDIDATES = 5
MAX_DUPLICATE_CANDIDATES = 20
_SPACES_AND_DASHES = " \t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000-_\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_LOOSE_DROP = str.maketrans("", "", _SPACES_AND_DASHES)
_EMAIL_SEPARATORS = re.compile(r"[,;\s]+")


# ----------------------------------------------------------------------------- keys
def exact_key(value: str | None) -> str | None:
    """Trimmed, case-insensitive form of a SKU or name; None when blank."""
    if value is None:
        return None
    key = value.strip().casefold()
    return key or None


def loose_key(value: str | None) -> str | None:
    """A SKU ignoring case, spaces and dashes: ``"ab-12 x"`` ~ ``"AB12X"``, for suggestions only."""
    if value is None:
        return None
    key = value.translate(_LOOSE_DROP).casefold()
    return key or None


def name_key(value: str | None) -> str | None:
    """A person's or company's name compared ignoring case and repeated spaces."""
    if value is None:
        return None
    key = " ".join(value.split()).casefold()
    return key or None


def email_key(value: str | None) -> str | None:
    """One billing email, trimmed and lower-cased; None when blank."""
    return exact_key(value)


def email_keys(field: str | None) -> tuple[str, ...]:
    """Every address in a QuickBooks Email field (``"a@x.test; B@x.test"``), normalised, in order."""
    if not field:
        return ()
    key = field.strip().casefold()
    if not _EMAIL_SEPARATORS.search(key):  # one address: the usual case, kept fast
        return (key,) if key else ()
    return tuple(dict.fromkeys(part for part in _EMAIL_SEPARATORS.split(key) if part))


def local_part(key: str) -> str | None:
    user, at, _domain = key.rpartition("@")
    return user if at and user else None


# ----------------------------------------------------------------------------- facts in, decisions out
class BtItemFacts(NamedTuple):
    """What matching needs of a BlueTrace item. ``pinned`` is a manual/created match to keep."""

    id: str
    sku: str | None
    name: str | None
    pinned: str | None = None
    rejected: frozenset[str] = frozenset()  # QuickBooks records a person unmatched from this one


class QbItemFacts(NamedTuple):
    list_id: str
    name: str
    full_name: str
    manufacturer_part_number: str | None
    barcode: str | None
    active: bool = True
    sku: str | None = None


# The QuickBooks field each item match field reads: a QbItemFacts field and a QbItem column of that name.
ITEM_KEY_FIELDS = {ItemMatchField.NAME: "name", ItemMatchField.SKU: "sku",
                   ItemMatchField.MANUFACTURER_PART_NUMBER: "manufacturer_part_number", ItemMatchField.BARCODE: "barcode"}


class BtCustomerFacts(NamedTuple):
    id: str
    email: str | None
    name: str | None
    company_name: str | None = None
    pinned: str | None = None
    rejected: frozenset[str] = frozenset()


class QbCustomerFacts(NamedTuple):
    list_id: str
    name: str
    full_name: str
    company_name: str | None
    email: str | None
    active: bool = True
    parent: str | None = None


class Candidate(NamedTuple):
    """A QuickBooks record offered to a person, and why."""

    quickbooks_id: str
    name: str
    key: str | None  # the SKU / Email as QuickBooks holds it
    reason: str  # same_sku | similar_sku | same_name | same_email | same_email_user

    def as_json(self, key_label: str) -> dict[str, str | None]:
        return {"quickbooks_id": self.quickbooks_id, "name": self.name, key_label: self.key, "reason": self.reason}


class Decision(NamedTuple):
    """Where one BlueTrace record stands. Exactly one of ``qb_list_id`` and ``issue`` is set."""

    qb_list_id: str | None
    issue: IssueType | None
    pinned: bool = False  # the match was kept from a person's choice or a creation
    candidates: tuple[Candidate, ...] = ()
    shared_with: tuple[str, ...] = ()  # other BlueTrace records carrying the same key
    inactive: tuple[Candidate, ...] = ()  # inactive QuickBooks records carrying the exact key


class _Qb(NamedTuple):
    list_id: str
    keys: tuple[str, ...]
    raw_names: tuple[str | None, ...]  # normalised only when a suggestion is needed
    label: str
    shown_key: str | None
    active: bool
    parent: str | None


class _Bt(NamedTuple):
    id: str
    key: str | None
    raw_names: tuple[str | None, ...]
    pinned: str | None
    rejected: frozenset[str]


class _Probe(NamedTuple):
    """One kind of suggestion: derived keys on both sides, compared by dictionary lookups.

    ``qb_hits(active, wanted)`` derives the keys of every active QuickBooks record and
    returns the ``(record, key)`` pairs whose key is wanted, in list order. It is the hot
    loop over 100k records, so each probe writes it as one comprehension calling str
    methods directly (the same normalisation as :func:`loose_key`, :func:`name_key`,
    :func:`local_part`), with no function call per record.
    """

    reason: str
    bt_keys: Callable[[_Bt], Iterable[str | None]]
    qb_hits: Callable[[list[_Qb], Collection[str]], list[tuple[_Qb, str]]]
    too_common: int | None = None  # a key shared by more QuickBooks records than this suggests nothing


def _name_keys(record: _Bt) -> Iterable[str | None]:
    return map(name_key, record.raw_names)


def _similar_sku_hits(active: list[_Qb], wanted: Collection[str]) -> list[tuple[_Qb, str]]:
    return [(q, key) for q in active
            if q.shown_key and (key := q.shown_key.translate(_LOOSE_DROP).casefold()) in wanted]


def _same_name_hits(active: list[_Qb], wanted: Collection[str]) -> list[tuple[_Qb, str]]:
    return [(q, key) for q in active for raw in q.raw_names
            if raw and (key := " ".join(raw.split()).casefold()) in wanted]


def _same_email_user_hits(active: list[_Qb], wanted: Collection[str]) -> list[tuple[_Qb, str]]:
    return [(q, user) for q in active for email in q.keys
            if (parts := email.rpartition("@"))[1] and (user := parts[0]) in wanted]


# NamedTuple's generated __new__ is a Python call; building the per-record tuples (and
# the matched decisions) straight from a full field tuple skips it, 100k times per list.
_new = tuple.__new__


# ----------------------------------------------------------------------------- public entry points
def match_items(
    bt_items: Iterable[BtItemFacts],
    qb_items: Iterable[QbItemFacts],
    field: ItemMatchField = ItemMatchField.NAME,
    targets: Collection[str] | None = None,
) -> dict[str, Decision]:
    """Decide every BlueTrace item in ``targets`` (None = all) against the QuickBooks items.

    ``bt_items`` must hold *all* of the account's items even when only a few are
    targeted: duplicates and pinned pairs are judged across the whole list.
    """
    position = QbItemFacts._fields.index(ITEM_KEY_FIELDS[ItemMatchField(field)])
    with _no_gc_pauses():
        # exact_key, inlined: a blank key ("" after strip) carries no key.
        qb = [_new(_Qb, (q.list_id, (key,) if (shown := q[position]) and (key := shown.strip().casefold()) else (),
                         (q.name,), q.full_name, shown, q.active, None))
              for q in qb_items]
        bt = [_new(_Bt, (b.id, (b.sku.strip().casefold() or None) if b.sku else None, (b.name,), b.pinned,
                         b.rejected))
              for b in bt_items]
        probes = (
            _Probe("similar_sku", lambda b: (loose_key(b.key),), _similar_sku_hits),
            _Probe("same_name", _name_keys, _same_name_hits),
        )
        decisions = _decide(bt, qb, targets, IssueType.MISSING_SKU, "same_sku", probes)
        del bt, qb  # freed while the collector is off, so it never walks them (see _no_gc_pauses)
    return decisions


def match_customers(
    bt_customers: Iterable[BtCustomerFacts],
    qb_customers: Iterable[QbCustomerFacts],
    targets: Collection[str] | None = None,
) -> dict[str, Decision]:
    """Decide every BlueTrace customer in ``targets`` (None = all) against the QuickBooks customers.

    ``bt_customers`` must hold all of the account's customers (see :func:`match_items`).
    """
    with _no_gc_pauses():
        # email_keys, with its usual one-address case inlined.
        qb = [
            _new(_Qb, (q.list_id, (key,) if (email := q.email) and (key := email.strip().casefold())
                       and not _EMAIL_SEPARATORS.search(key) else email_keys(email),
                       (q.name, q.company_name) if q.full_name == q.name else (q.name, q.full_name, q.company_name),
                       q.full_name, email, q.active, q.parent))
            for q in qb_customers
        ]
        # email_key (exact_key), inlined.
        bt = [_new(_Bt, (b.id, (b.email.strip().casefold() or None) if b.email else None, (b.name, b.company_name),
                         b.pinned, b.rejected))
              for b in bt_customers]
        probes = (
            _Probe("same_name", _name_keys, _same_name_hits),
            # "ap@", "info@" on many customers suggest nothing.
            _Probe("same_email_user", lambda b: (local_part(b.key) if b.key else None,), _same_email_user_hits,
                   too_common=MAX_CANDIDATES),
        )
        decisions = _decide(bt, qb, targets, IssueType.MISSING_EMAIL, "same_email", probes)
        del bt, qb  # freed while the collector is off, so it never walks them (see _no_gc_pauses)
    return decisions


# ----------------------------------------------------------------------------- the one algorithm
@contextlib.contextmanager
def _no_gc_pauses():
    """Hold the cyclic garbage collector off while matching allocates its (acyclic) tuples.

    Matching creates a few hundred thousand small tuples; every 700 allocations CPython
    would walk the young objects, and now and then everything alive, which costs more
    than the matching itself on big lists. Nothing here forms cycles, so nothing leaks;
    the collector's previous state is restored afterwards. Its first pass after that
    walks every tuple allocated meanwhile that is still alive, so callers free their
    working lists before leaving the block.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _in_order(group: Iterable[_Qb]) -> list[_Qb]:
    """Candidates by name, then QuickBooks id: the same whatever order the records were read in."""
    return sorted(group, key=lambda q: (q.label.casefold(), q.list_id))


def _without_jobs(group: list[_Qb]) -> list[_Qb]:
    """Drop records whose parent is in the same group (a job repeating its customer's Email)."""
    if len(group) < 2:
        return group
    ids = {q.list_id for q in group}
    return [q for q in group if q.parent not in ids]


class _Index:
    """Indexes over one call's records, built once."""

    def __init__(self, bt: list[_Bt], qb: list[_Qb]):
        self.qb_by_id = {q.list_id: q for q in qb}
        self.pinned_qb = {b.pinned for b in bt if b.pinned and self.is_pinned(b)}
        pinned = self.pinned_qb
        self.inactive: dict[str, list[_Qb]] = defaultdict(list)
        for q in qb:
            if not q.active:
                for key in q.keys:
                    self.inactive[key].append(q)
        # Active, unpinned QuickBooks records by key: the usual single one (a plain dict,
        # built in one go), and the groups of the rare keys several records carry.
        pairs = [(key, q) for q in qb if q.active and q.list_id not in pinned for key in q.keys]
        self.one: dict[str, _Qb] = dict(reversed(pairs))  # the first record of each key
        self.more: dict[str, list[_Qb]] = _groups(pairs, len(self.one))
        # Unpinned BlueTrace records by key, likewise.
        bt_pairs = [(b.key, b.id) for b in bt if b.key and not (b.pinned and self.is_pinned(b))]
        self.bt_one: dict[str, str] = dict(reversed(bt_pairs))
        self.bt_more: dict[str, list[str]] = _groups(bt_pairs, len(self.bt_one))
        self._taken: dict[str, bool] = {}

    def is_pinned(self, record: _Bt) -> bool:
        q = self.qb_by_id.get(record.pinned) if record.pinned else None
        return q is not None and q.active

    def group(self, key: str) -> list[_Qb]:
        """The active, unpinned QuickBooks records carrying ``key``, parents preferred over their jobs."""
        more = self.more.get(key)
        if more is not None:
            return _without_jobs(more)
        first = self.one.get(key)
        return [first] if first is not None else []

    def sharing(self, key: str) -> list[str]:
        more = self.bt_more.get(key)
        return more if more is not None else ([self.bt_one[key]] if key in self.bt_one else [])

    def is_taken(self, q: _Qb) -> bool:
        """Whether a pin or an automatic match holds ``q``: then it is suggested to nobody else."""
        found = self._taken.get(q.list_id)
        if found is None:
            found = q.list_id in self.pinned_qb or any(
                key in self.bt_one and key not in self.bt_more and self.group(key) == [q] for key in q.keys
            )
            self._taken[q.list_id] = found
        return found


def _groups(pairs: list[tuple[str, Any]], distinct: int) -> dict[str, list]:
    """The values of every key that occurs more than once in ``pairs``, in order (usually none)."""
    if distinct == len(pairs):
        return {}
    counts = Counter(key for key, _value in pairs)
    groups: dict[str, list] = {}
    for key, value in pairs:
        if counts[key] > 1:
            groups.setdefault(key, []).append(value)
    return groups


def _decide(
    bt: list[_Bt],
    qb: list[_Qb],
    targets: Collection[str] | None,
    missing: IssueType,
    same_key_reason: str,
    probes: tuple[_Probe, ...],
) -> dict[str, Decision]:
    """Matches and duplicates first; then suggestions for the records left, in one pass per probe."""
    index = _Index(bt, qb)
    wanted = None if targets is None else set(targets)
    one, more, bt_more, qb_by_id = index.one, index.more, index.bt_more, index.qb_by_id
    decisions: dict[str, Decision] = {}
    unmatched: list[_Bt] = []
    for record in bt:
        record_id, key, _names, pinned_id, rejected = record  # unpacked once: cheaper than attribute reads
        if wanted is not None and record_id not in wanted:
            continue
        if pinned_id:
            pinned = qb_by_id.get(pinned_id)
            if pinned is not None and pinned.active:
                decisions[record_id] = Decision(pinned_id, None, pinned=True)
                continue
        if key is None:
            unmatched.append(record)
            continue
        single = one.get(key)
        if (single is not None and key not in more and key not in bt_more
                and single.list_id not in rejected):  # the usual case, kept fast
            decisions[record_id] = _new(Decision, (single.list_id, None, False, (), (), ()))
            continue
        group = [q for q in index.group(key) if q.list_id not in rejected]
        others = tuple(sorted(other for other in index.sharing(key) if other != record_id))
        if len(group) == 1 and not others:
            decisions[record_id] = Decision(group[0].list_id, None)
        elif group:
            choices = tuple(Candidate(q.list_id, q.label, q.shown_key, same_key_reason) for q in _in_order(group))
            decisions[record_id] = Decision(
                None, IssueType.DUPLICATE_MATCH, candidates=choices[:MAX_DUPLICATE_CANDIDATES], shared_with=others
            )
        else:
            unmatched.append(record)
    if not unmatched:
        return decisions
    suggestions = _suggest(unmatched, qb, probes, index)
    for record in unmatched:
        candidates = suggestions.get(record.id, ())
        if record.key is None:
            decisions[record.id] = Decision(None, missing, candidates=candidates)
            continue
        others = tuple(sorted(other for other in index.sharing(record.key) if other != record.id))
        inactive = tuple(
            Candidate(q.list_id, q.label, q.shown_key, "inactive") for q in _in_order(index.inactive.get(record.key, ()))
        )
        decisions[record.id] = Decision(
            None, IssueType.NOT_FOUND, candidates=candidates, shared_with=others, inactive=inactive
        )
    return decisions


def _suggest(records: list[_Bt], qb: list[_Qb], probes: tuple[_Probe, ...], index: _Index
             ) -> dict[str, tuple[Candidate, ...]]:
    """Candidates per record: each QuickBooks record once, none taken or rejected, at most a few.

    The wanted keys come from the (usually few) records that need suggestions; the
    QuickBooks list is scanned once per probe, looking each derived key up in them.
    """
    found: dict[str, dict[str, Candidate]] = {record.id: {} for record in records}
    active = [q for q in qb if q.active]
    for probe in probes:
        wanted: dict[str, list[_Bt]] = {}
        for record in records:
            for key in dict.fromkeys(probe.bt_keys(record)):
                if key:
                    wanted.setdefault(key, []).append(record)
        if not wanted:
            continue
        hits: dict[str, list[_Qb]] = {}
        for q, key in probe.qb_hits(active, wanted):
            group = hits.setdefault(key, [])
            if not group or group[-1] is not q:  # one record with two names or addresses giving one key
                group.append(q)
        for key, group in hits.items():
            if probe.too_common is not None and len(group) > probe.too_common:
                continue
            for record in wanted[key]:
                mine = found[record.id]
                for q in _in_order(group):
                    if (len(mine) < MAX_CANDIDATES and q.list_id not in record.rejected and q.list_id not in mine
                            and not index.is_taken(q)):
                        mine[q.list_id] = Candidate(q.list_id, q.label, q.shown_key, probe.reason)
    return {record_id: tuple(candidates.values()) for record_id, candidates in found.items() if candidates}

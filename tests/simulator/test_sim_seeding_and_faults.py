"""Companies from JSON, saved and reloaded, generated with problems; faults on demand."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from freezegun import freeze_time

from qbwc_bridge.simulator import (
    FaultRule,
    Faults,
    ProblemMix,
    SeedError,
    company_from_description,
    describe_company,
    generate_company,
    load_company,
    save_company,
)
from qbwc_bridge.simulator.cli import _demo_company_path
from qbwc_bridge.simulator.records import EntityKind, ItemKind


def test_the_packaged_demo_company_loads_with_its_planted_problems():
    company = load_company(_demo_company_path())
    assert company.counts()["customers"] == 6 and company.counts()["vendors"] == 2
    assert company.customer_named("Cedar Works:Warehouse Job").sublevel == 1
    assert ";" in company.customer_named("Blue Ridge Builders").email
    [invoice] = company.invoices_by_ref("1001")
    assert invoice.subtotal == Decimal("349.90")
    assert company.customer_named("Acme Corp").balance == Decimal("349.90")


def test_saving_and_loading_keeps_identities_edit_sequences_and_counters(company, clock, tmp_path):
    acme = company.customer_named("Acme Corp")
    clock.advance(minutes=5)
    company.rename(acme.stamp.id, "Acme Corporation")
    path = tmp_path / "state.json"
    save_company(company, path)
    reloaded = load_company(path)
    again = reloaded.customer_named("Acme Corporation")
    assert (again.stamp.id, again.stamp.edit_sequence, again.stamp.time_modified) == \
        (acme.stamp.id, acme.stamp.edit_sequence, acme.stamp.time_modified)
    assert describe_company(reloaded) == describe_company(company)
    existing = set(reloaded.entities) | set(reloaded.items) | set(reloaded.accounts) | set(reloaded.terms)
    assert reloaded.new_list_stamp().id.split("-")[0] not in {list_id.split("-")[0] for list_id in existing}


@pytest.mark.parametrize(("description", "words"), [
    ({"customers": [{"name": "Same"}], "vendors": [{"name": "same"}]}, "already in use"),
    ({"customers": [{"name": "A", "terms": "Net 99"}]}, "terms 'Net 99'"),
    ({"items": [{"kind": "gizmo", "name": "X"}]}, "kind must be one of"),
])
def test_an_inconsistent_description_is_refused(description, words):
    with pytest.raises(SeedError, match=words):
        company_from_description(description)


def test_generated_companies_are_deterministic_and_plant_the_problems_asked_for():
    mix = ProblemMix(duplicate_ish_names=0.3, shared_emails=0.2, multiple_emails=0.3, vendor_collisions=0.2,
                     inactive=0.1)
    with freeze_time("2024-06-01 12:00:00"):  # records are stamped with the clock: two real seconds would differ
        first = generate_company(items=40, customers=40, problems=mix, seed=3)
        second = generate_company(items=40, customers=40, problems=mix, seed=3)
    assert describe_company(first.company)["customers"] == describe_company(second.company)["customers"]
    assert first.problems == second.problems
    company = first.company
    assert company.counts()["items"] == 40 and company.counts()["customers"] == 40
    assert {"duplicate_ish_names", "shared_emails", "multiple_emails", "vendor_collisions", "inactive"} <= \
        set(first.problems)
    for name in first.problems["multiple_emails"]:
        assert any(sep in company.customer_named(name).email for sep in (",", ";"))
    for name in first.problems["vendor_collisions"]:
        assert company.find_entity(EntityKind.VENDOR, full_name=name) is not None
    shared = [c for c in company.customers if c.email == "orders@shared-mailbox.test"]
    assert len(shared) == len(first.problems["shared_emails"])
    assert {i.kind for i in company.items.values()} == set(ItemKind)


def test_fault_specs_parse_and_reject_unknown_names():
    faults = Faults.parse("seed=7, lose_response=@2+5, lock_error=0.25, slow_seconds=0.5")
    assert faults.seed == 7 and faults.lose_response == FaultRule(at=frozenset({2, 5}))
    assert faults.lock_error.probability == 0.25 and faults.slow_seconds == 0.5
    assert "lose_response=@2+5" in faults.describe()
    with pytest.raises(ValueError, match="unknown fault 'crash'"):
        Faults.parse("crash=1")
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults.parse("lock_error=2")


def test_probabilistic_faults_repeat_with_the_seed_and_do_not_disturb_each_other():
    def fired(faults: Faults) -> list[bool]:
        injector = faults.injector()
        return [injector.add_locked() for _ in range(50)]

    base = fired(Faults(seed=11, lock_error=FaultRule(probability=0.3)))
    assert base == fired(Faults(seed=11, lock_error=FaultRule(probability=0.3)))
    assert base == fired(Faults(seed=11, lock_error=FaultRule(probability=0.3),
                                not_running=FaultRule(probability=0.9)))
    assert base != fired(Faults(seed=12, lock_error=FaultRule(probability=0.3)))
    assert 5 < sum(base) < 30


def test_saved_json_is_plain_and_readable(company, tmp_path):
    path = tmp_path / "company.json"
    save_company(company, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    acme = next(c for c in data["customers"] if c["name"] == "Acme Corp")
    assert acme["terms"] == "Net 30" and acme["list_id"].startswith("8000")
    assert data["counters"]["next_list_sequence"] > 0x80000000

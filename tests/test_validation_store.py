"""Filing direct validations in the workspace, on SQLite and PostgreSQL: what is stored, what is
refused with nothing stored, revisions, pins, and the TIC extension."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.validation_helpers import AS_OF, LISTING, document, make_tic, seed, signed
from toysafe.core.program.validation import dumps
from toysafe.io.errors import InputError
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program import validation_models as vm
from toysafe.store.program.validations import ValidationRefused, Validations

TIC = make_tic()
OTHER = make_tic("bv-us", ("2002",))


def file(store: Store, doc: dict[str, Any], as_of: date = AS_OF) -> Any:
    return Validations(store, "tester").add(dumps(doc), "validation.json", as_of)


def counts(store: Store) -> tuple[int, int, int]:
    with store.reader() as s:
        return (
            s.scalar(select(func.count()).select_from(pm.Validation)) or 0,
            s.scalar(select(func.count()).select_from(vm.ValidationFiling)) or 0,
            s.scalar(select(func.count()).select_from(vm.EvidencePin)) or 0,
        )


@pytest.fixture
def market(store: Store) -> Store:
    seed(store, [TIC, OTHER], request_state=None)
    return store


def test_accepted_validation_is_on_file_with_its_pins(market: Store) -> None:
    got = file(market, signed(TIC, document(TIC)))
    out = got.to_dict()
    assert out["accepted"] and out["counts"] and out["findings"] == []
    assert out["listings"] == [{"listing_id": LISTING, "placement": "new"}]
    assert out["requests"] == [{"listing_id": LISTING, "request": None, "note": "no_open_request"}]
    assert counts(market) == (1, 1, 1)
    with market.reader() as s:
        row = s.scalar(select(pm.Validation))
        assert row is not None and (row.trf, row.revision, row.tic) == (
            "TRF-2026-000123",
            0,
            "sgs-us",
        )


def test_a_changed_byte_is_refused_and_nothing_stored(market: Store) -> None:
    raw = bytearray(dumps(signed(TIC, document(TIC))))
    i = raw.index(b"Yunhe Bright")
    raw[i] = ord("X")
    got = Validations(market, "tester").add(bytes(raw), "v.json", AS_OF)
    assert got.refused and got.outcome.refusal is not None
    assert got.outcome.refusal.code == "bad_signature"
    assert counts(market) == (0, 0, 0)


def test_wrong_key_and_unapproved_tic_are_refused(market: Store) -> None:
    impostor = make_tic("sgs-us")
    got = file(market, signed(impostor, document(impostor)))
    assert got.outcome.refusal is not None and got.outcome.refusal.code == "bad_signature"
    stranger = make_tic("acme")
    got = file(market, signed(stranger, document(stranger)))
    assert got.outcome.refusal is not None and got.outcome.refusal.code == "tic_not_approved"
    assert "not one the marketplace's policy approves" in got.to_dict()["refusal"]["message"]
    assert counts(market) == (0, 0, 0)


def test_partial_testing_is_filed_with_its_finding(market: Store) -> None:
    doc = document(TIC)
    doc["parameters"] = [p for p in doc["parameters"] if p["requirement"] != "16CFR1501"]
    out = file(market, signed(TIC, doc)).to_dict()
    assert out["accepted"] and not out["counts"]
    assert [(f["code"], f["check"], f["requirement"]) for f in out["findings"]] == [
        ("not_full_testing", "missing", "16CFR1501")
    ]
    with market.reader() as s:
        filing = s.scalar(select(vm.ValidationFiling))
        assert filing is not None and not filing.counts
        assert filing.findings[0]["requirement"] == "16CFR1501"


def test_wrong_n_a_is_a_finding_naming_it(market: Store) -> None:
    doc = document(TIC)
    for p in doc["parameters"]:
        if p["requirement"] == "16CFR1307":
            p.clear()
            p.update(requirement="16CFR1307", verdict="n/a", justification="no plastic")
    out = file(market, signed(TIC, doc)).to_dict()
    assert [(f["check"], f["requirement"]) for f in out["findings"]] == [
        ("na_applies", "16CFR1307")
    ]


def test_revisions_replay_and_no_op(market: Store) -> None:
    assert file(market, signed(TIC, document(TIC, revision=1))).to_dict()["counts"]
    again = file(market, signed(TIC, document(TIC, revision=1))).to_dict()
    assert again["accepted"] and again["unchanged"]
    assert counts(market) == (1, 1, 1)
    replay = file(market, signed(TIC, document(TIC, revision=0)))
    assert replay.outcome.refusal is not None
    assert replay.outcome.refusal.code == "replayed_revision"
    changed = document(TIC, revision=1)
    changed["manufacturer"]["address"] = "elsewhere"
    conflict = file(market, signed(TIC, changed))
    assert conflict.outcome.refusal is not None
    assert conflict.outcome.refusal.code == "revision_conflict"
    assert counts(market) == (1, 1, 1)
    higher = file(market, signed(TIC, document(TIC, revision=2))).to_dict()
    assert higher["listings"] == [{"listing_id": LISTING, "placement": "replaces"}]
    assert counts(market) == (1, 2, 1)
    with market.reader() as s:
        row = s.scalar(select(pm.Validation))
        assert row is not None and row.revision == 2


def test_a_report_number_reused_with_other_content_is_forged(market: Store) -> None:
    file(market, signed(TIC, document(TIC)))
    seed_more = document(OTHER, trf="TRF-2026-000999", report_issued=date(2026, 1, 25))
    seed_more["issued"] = "2026-02-05"
    out = file(market, signed(OTHER, seed_more)).to_dict()
    assert out["accepted"] and not out["counts"]
    assert [f["code"] for f in out["findings"]] == ["forged_or_altered"]
    assert out["findings"][0]["facts"]["on_file"]["issued"] == "2026-01-20"


def test_a_lab_report_on_file_pins_its_number_too(market: Store) -> None:
    from toysafe.store import models as m

    with market.transaction() as s:
        org = s.scalar(select(m.Organization).where(m.Organization.slug == "hoppy"))
        assert org is not None
        s.add(
            m.Report(
                org_id=org.id,
                report_no="ETC-2026-0320-01",
                lab_cpsc_id="1001",
                issued=date(2026, 1, 2),
                tested_from=date(2026, 1, 1),
                tested_to=date(2026, 1, 1),
                digest="x" * 64,
                document={},
            )
        )
    out = file(market, signed(TIC, document(TIC))).to_dict()
    assert [f["code"] for f in out["findings"]] == ["forged_or_altered"]
    assert out["findings"][0]["facts"]["on_file"]["source"] == "lab report on file"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"listing_ids": ["B0NOPE"]}, "listing_ids[0]: no listing 'B0NOPE' in the program"),
        ({"seller": "other"}, "listing_ids[0]: listing 'B0TOY00001' belongs to seller 'hoppy'"),
        ({"issued": "2026-03-01"}, "issued: 2026-03-01 is in the future"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    market: Store, change: dict[str, Any], message: str
) -> None:
    doc = document(TIC)
    doc.update(change)
    if "issued" in change:
        doc["reports"][0]["issued"] = "2026-01-20"
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        file(market, signed(TIC, doc))
    assert counts(market) == (0, 0, 0)


def test_no_policy_is_bad_input(store: Store) -> None:
    with pytest.raises(InputError, match="no policy is loaded"):
        file(store, signed(TIC, document(TIC)))


# --- P5 extension ---------------------------------------------------------------------------


def test_the_tic_handling_a_request_extends_it_once(store: Store) -> None:
    ids = seed(store, [TIC, OTHER], evidence="documents")
    ref = f"REQ-{ids[LISTING]:06d}"
    vals = Validations(store, "tester")
    with pytest.raises(ValidationRefused) as e:
        vals.extend(ref, TIC.id, AS_OF)
    assert e.value.code == "not_handling"
    file(store, signed(TIC, document(TIC)))  # documents category: on file, request unchanged
    with pytest.raises(ValidationRefused) as e:
        vals.extend(ref, OTHER.id, AS_OF)
    assert e.value.code == "not_handling"
    with pytest.raises(ValidationRefused) as e:
        vals.extend(ref, "acme", AS_OF)
    assert e.value.code == "tic_not_approved"
    out = vals.extend(ref, TIC.id, AS_OF)
    assert (out["due_before"], out["due"], out["days"]) == ("2026-02-03", "2026-04-04", 60)
    with pytest.raises(ValidationRefused) as e:
        vals.extend(ref, TIC.id, AS_OF)
    assert e.value.code == "already_extended"
    with store.reader() as s:
        req = s.get(pm.Request, ids[LISTING])
        assert req is not None and req.due == date(2026, 4, 4) and req.extended_days == 60
    with pytest.raises(InputError, match="REQUEST"):
        vals.extend("REQ-x", TIC.id, AS_OF)
    with pytest.raises(LookupError):
        vals.extend("REQ-009999", TIC.id, AS_OF)


# --- P7/P8: a filed validation is the request's submission ----------------------------------


def request_of(store: Store, request_id: int) -> tuple[str, str, date | None, list[str]]:
    with store.reader() as s:
        req = s.get(pm.Request, request_id)
        assert req is not None
        listing = s.get(pm.ProgramListing, req.listing_pk)
        assert listing is not None
        codes = list(s.scalars(select(pm.Finding.code).where(pm.Finding.request_id == req.id)))
        return req.state, listing.state, listing.valid_until, codes


def test_a_clean_validation_approves_the_request(store: Store) -> None:
    ids = seed(store, [TIC])
    out = file(store, signed(TIC, document(TIC))).to_dict()
    [fed] = out["requests"]
    assert fed["state"] == "approved" and fed["request"] == f"REQ-{ids[LISTING]:06d}"
    assert request_of(store, ids[LISTING]) == ("approved", "active", date(2027, 1, 20), [])
    with store.reader() as s:
        sub = s.scalar(select(pm.Submission))
        assert sub is not None and sub.channel == "direct_validation"
        assert sub.validation is not None and sub.validation["trf"] == "TRF-2026-000123"
        decision = s.scalar(select(pm.DecisionRow))
        assert decision is not None and decision.automatic and decision.decision == "approve"


def test_a_clean_validation_goes_to_a_reviewer_without_auto_approve(store: Store) -> None:
    ids = seed(store, [TIC])
    with store.transaction() as s:
        row = s.get(pm.PolicyVersion, 1)
        assert row is not None
        doc = dict(row.document)
        doc["categories"] = {"toys": {**doc["categories"]["toys"], "auto_approve": False}}
        row.document = doc
    file(store, signed(TIC, document(TIC)))
    assert request_of(store, ids[LISTING])[:2] == ("in_review", "pending")


def test_findings_send_the_request_back_for_revision(store: Store) -> None:
    ids = seed(store, [TIC])
    doc = document(TIC)
    doc["parameters"] = [p for p in doc["parameters"] if p["requirement"] != "16CFR1303"]
    out = file(store, signed(TIC, doc)).to_dict()
    assert out["requests"][0]["state"] == "revision_requested"
    assert request_of(store, ids[LISTING]) == (
        "revision_requested",
        "pending",
        None,
        ["not_full_testing"],
    )
    # The TIC's next revision, complete, approves it.
    assert file(store, signed(TIC, document(TIC, revision=1))).to_dict()["requests"][0][
        "state"
    ] == ("approved")


def test_a_forged_report_sends_the_request_to_a_person(store: Store) -> None:
    ids = seed(store, [TIC, OTHER], listings=(LISTING, "B0TOY00002"))
    file(store, signed(TIC, document(TIC)))
    forged = document(
        OTHER, listing_ids=["B0TOY00002"], trf="TRF-X", report_issued=date(2026, 1, 5)
    )
    out = file(store, signed(OTHER, forged)).to_dict()
    assert out["requests"][0]["state"] == "in_review"
    assert request_of(store, ids["B0TOY00002"])[3] == ["forged_or_altered"]


def test_the_listing_checks_apply_to_a_validation_too(store: Store) -> None:
    ids = seed(store, [TIC])
    with store.transaction() as s:
        listing = s.scalar(select(pm.ProgramListing))
        assert listing is not None
        listing.min_age_months, listing.model = 6, "MM-STK-99"
    file(store, signed(TIC, document(TIC)))
    state, _, _, codes = request_of(store, ids[LISTING])
    assert state == "revision_requested"
    assert sorted(codes) == ["age_grade_mismatch", "model_mismatch"]


def test_a_documents_category_keeps_the_request_as_it_is(store: Store) -> None:
    ids = seed(store, [TIC], evidence="documents")
    out = file(store, signed(TIC, document(TIC))).to_dict()
    assert out["requests"][0]["note"] == "documents_category"
    assert request_of(store, ids[LISTING])[0] == "open"

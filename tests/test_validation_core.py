"""The pure core of direct validation (contract 8.3): document, signature, checks, revisions."""

from __future__ import annotations

import copy
import random
import re
from datetime import date
from typing import Any

import pytest

from tests.validation_helpers import (
    AS_OF,
    Tic,
    applicable,
    document,
    make_tic,
    registry,
    signed,
    stacker_profile,
)
from toysafe.core.evidence.labs import LabRegistry
from toysafe.core.law.engine import assess
from toysafe.core.program.validation import (
    Context,
    OnFile,
    Outcome,
    Pin,
    Refusal,
    check_signature,
    content_hash,
    dumps,
    evaluate,
    extend,
    parse_public_key,
    pins_of,
    placement,
    public_key_text,
    source,
)
from toysafe.io.errors import InputError
from toysafe.io.kb import default_kb
from toysafe.io.validations import parse_bytes, validation_from_data

TIC = make_tic()


def run(
    doc: dict[str, Any],
    tics: list[Tic] | None = None,
    *,
    on_file: dict[str, OnFile] | None = None,
    pinned: dict[str, Pin] | None = None,
    labs: LabRegistry | None = None,
    max_age: int = 365,
) -> Outcome:
    model = validation_from_data(doc)
    ctx = Context(
        assess(model.profile, default_kb(), AS_OF), labs or registry(), max_report_age_days=max_age
    )
    return evaluate(
        doc, model, tics if tics is not None else [TIC], ctx, on_file or {}, pinned or {}
    )


def codes(out: Outcome) -> list[tuple[str, str, str | None]]:
    return [(f.code, f.check, f.requirement) for f in out.findings]


def lab_requirements() -> list[str]:
    return [rid for rid, lab in applicable(stacker_profile()) if lab]


def test_the_stacker_needs_lab_tests_the_validation_must_cover() -> None:
    lab = lab_requirements()
    assert "16CFR1303" in lab and "F963:4.3.5.1(2)" in lab  # paint: lead, soluble elements


def test_a_clean_validation_is_accepted_and_counts() -> None:
    out = run(signed(TIC, document(TIC)))
    assert out.refusal is None and out.findings == ()
    assert out.counts and out.placements == {"B0TOY00001": "new"}
    assert out.to_dict()["accepted"] is True


def test_a_changed_value_after_signing_is_refused() -> None:
    doc = signed(TIC, document(TIC))
    doc["parameters"][0]["data"] = "changed"
    out = run(doc)
    assert out.refusal is not None and out.refusal.code == "bad_signature"
    assert not out.placements and not out.findings


def test_signed_by_another_key_is_refused() -> None:
    impostor = make_tic()  # same id, other key: not the key the policy holds
    out = run(signed(impostor, document(impostor)))
    assert out.refusal is not None and out.refusal.code == "bad_signature"


def test_a_key_id_other_than_the_tic_is_an_unknown_key() -> None:
    doc = signed(TIC, document(TIC))
    doc["signature"]["key_id"] = "other"
    out = run(doc)
    assert out.refusal is not None and out.refusal.code == "unknown_key"


def test_a_tic_not_in_the_policy_is_refused() -> None:
    stranger = make_tic("acme-labs")
    out = run(signed(stranger, document(stranger)), [TIC])
    assert out.refusal is not None and out.refusal.code == "tic_not_approved"


def test_a_second_key_for_the_same_tic_verifies() -> None:
    rotated = Tic(TIC.id, TIC.name, TIC.cpsc_lab_ids, make_tic().public_key, TIC.key)
    assert run(signed(TIC, document(TIC)), [rotated, TIC]).counts


def test_a_missing_requirement_is_not_full_testing_naming_it() -> None:
    doc = document(TIC)
    doc["parameters"] = [p for p in doc["parameters"] if p["requirement"] != "16CFR1303"]
    out = run(signed(TIC, doc))
    assert out.refusal is None and not out.counts
    assert codes(out) == [("not_full_testing", "missing", "16CFR1303")]
    assert out.findings[0].facts["title"]


def test_n_a_for_a_requirement_that_applies_is_a_finding_naming_it() -> None:
    doc = document(TIC)
    for p in doc["parameters"]:
        if p["requirement"] == "16CFR1303":
            p.update(verdict="n/a", justification="no paint", data=None)
    out = run(signed(TIC, doc))
    assert codes(out) == [("not_full_testing", "na_applies", "16CFR1303")]


def test_n_a_without_justification_is_a_finding() -> None:
    doc = document(TIC)
    doc["parameters"][-1].pop("justification")  # F963:4.5 sound: does not apply
    out = run(signed(TIC, doc))
    assert codes(out) == [("not_full_testing", "na_unjustified", "F963:4.5")]


def test_a_pass_without_data_is_a_finding() -> None:
    doc = document(TIC)
    doc["parameters"][0]["data"] = "  "
    rid = doc["parameters"][0]["requirement"]
    out = run(signed(TIC, doc))
    assert codes(out) == [("not_full_testing", "pass_without_data", rid)]


def test_a_failed_parameter_is_failed_test() -> None:
    doc = document(TIC)
    doc["parameters"][0]["verdict"] = "fail"
    doc["overall"] = "fail"
    out = run(signed(TIC, doc))
    assert [f.code for f in out.findings] == ["failed_test"]


@pytest.mark.parametrize(
    ("overall", "fail_one", "message"),
    [("pass", True, "overall: 'pass' but"), ("fail", False, "overall: 'fail' but no parameter")],
)
def test_overall_must_agree_with_the_parameters(overall: str, fail_one: bool, message: str) -> None:
    doc = document(TIC)
    doc["overall"] = overall
    if fail_one:
        doc["parameters"][0]["verdict"] = "fail"
    with pytest.raises(InputError, match=message):
        validation_from_data(signed(TIC, doc))


def test_a_report_older_than_the_policy_allows() -> None:
    doc = document(TIC, report_issued=date(2024, 12, 1))
    out = run(signed(TIC, doc))
    assert [(f.code, f.facts["report_no"]) for f in out.findings] == [
        ("report_too_old", "ETC-2026-0320-01")
    ]
    assert run(signed(TIC, doc), max_age=500).counts


def test_a_lab_not_accepted_for_a_scope_on_the_test_date() -> None:
    labs = registry(scopes=["16CFR1250"])  # toy standard only: not lead in paint
    out = run(signed(TIC, document(TIC)), labs=labs)
    missing = {f.requirement for f in out.findings if f.code == "lab_not_accepted"}
    assert "16CFR1303" in missing and not any(r.startswith("F963:") for r in missing)


def test_the_test_date_decides_acceptance() -> None:
    doc = document(TIC)
    doc["reports"][0]["tested"] = {"from": "2011-05-01", "to": "2011-05-03"}
    doc["reports"][0]["issued"] = "2011-05-04"
    out = run(signed(TIC, doc), max_age=100_000)  # the lab was accepted in 2012
    assert {f.code for f in out.findings} == {"lab_not_accepted"}


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("revision",), "1", "revision"),
        (("revision",), -1, "revision"),
        (("issued",), "2026-02-30", "issued"),
        (("parameters", 0, "verdict"), "ok", "parameters[0].verdict"),
        (("parameters", 0, "requirement"), "sharp points", "parameters[0].requirement"),
        (("reports", 0, "cpsc_lab_id"), "10", "reports[0].cpsc_lab_id"),
        (("profile", "age"), None, "profile.age"),
        (("format",), "toysafe/validation@2", "format"),
        (("listing_ids",), [], "listing_ids"),
    ],
)
def test_a_bad_value_names_its_field(path: tuple[Any, ...], value: Any, field: str) -> None:
    doc = signed(TIC, document(TIC))
    target: Any = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    with pytest.raises(InputError, match=f"validation: {re.escape(field)}:"):
        validation_from_data(doc)


def test_an_unknown_field_is_named() -> None:
    doc = signed(TIC, document(TIC))
    doc["extra"] = 1
    with pytest.raises(InputError, match="extra: is not a known field"):
        validation_from_data(doc)


def test_parse_refuses_duplicate_keys_and_nan() -> None:
    with pytest.raises(InputError, match="duplicate key 'a'"):
        parse_bytes(b'{"a": 1, "a": 2}', "f")
    with pytest.raises(InputError, match="not valid JSON"):
        parse_bytes(b'{"a": NaN}', "f")
    with pytest.raises(InputError, match="expected a JSON object"):
        parse_bytes(b"[1]", "f")


def test_public_key_format() -> None:
    key = parse_public_key(TIC.public_key)
    assert public_key_text(key) == TIC.public_key
    for bad in ["ed25519:AAAA", "rsa:" + TIC.public_key[8:], "ed25519:" + "!" * 44]:
        with pytest.raises(ValueError):
            parse_public_key(bad)


# --- revisions and pins ---------------------------------------------------------------------


def on_file(doc: dict[str, Any], listing: str = "B0TOY00001") -> dict[str, OnFile]:
    m = validation_from_data(doc)
    return {listing: OnFile(listing, m.trf, m.revision, m.issued, content_hash(doc))}


def test_revision_rules() -> None:
    rev1 = signed(TIC, document(TIC, revision=1))
    filed = on_file(rev1)
    assert run(rev1, on_file=filed).placements == {"B0TOY00001": "same"}
    assert run(rev1, on_file=filed).unchanged
    assert run(signed(TIC, document(TIC, revision=2)), on_file=filed).placements == {
        "B0TOY00001": "replaces"
    }
    replay = run(signed(TIC, document(TIC, revision=0)), on_file=filed)
    assert replay.refusal is not None and replay.refusal.code == "replayed_revision"
    changed = document(TIC, revision=1)
    changed["manufacturer"]["name"] = "Other Co."
    conflict = run(signed(TIC, changed), on_file=filed)
    assert conflict.refusal is not None and conflict.refusal.code == "revision_conflict"


def test_another_trf_replaces_only_when_issued_later() -> None:
    filed = on_file(signed(TIC, document(TIC)))
    later = document(TIC, trf="TRF-2027-000001", issued=date(2026, 2, 5))
    assert run(signed(TIC, later), on_file=filed).placements["B0TOY00001"] == "replaces"
    older = document(TIC, trf="TRF-2025-000001", issued=date(2026, 1, 25))
    out = run(signed(TIC, older), on_file=filed)
    assert out.refusal is not None and out.refusal.code == "stale_validation"


def test_one_refused_listing_refuses_the_whole_document() -> None:
    filed = on_file(signed(TIC, document(TIC, revision=3)), "B0TOY00002")
    doc = signed(TIC, document(TIC, revision=1, listing_ids=["B0TOY00001", "B0TOY00002"]))
    out = run(doc, on_file=filed)
    assert out.refusal is not None and out.refusal.code == "replayed_revision"
    assert out.placements == {}


def test_a_report_number_on_file_with_other_content_is_forged() -> None:
    first = validation_from_data(signed(TIC, document(TIC)))
    pinned = {p.report_no: p for p in pins_of(first, source(first))}
    # The same content again (a later revision, another listing) is no conflict ...
    again = signed(TIC, document(TIC, revision=1, listing_ids=["B0TOY00009"]))
    assert run(again, pinned=pinned).counts
    # ... but the same number with another issue date or lab is forged, whoever sends it.
    other = make_tic("bv-us")
    altered = signed(other, document(other, report_issued=date(2026, 1, 21), trf="TRF-X"))
    out = run(altered, [TIC, other], pinned=pinned)
    assert out.refusal is None and out.forged
    assert [(f.code, f.facts["report_no"]) for f in out.findings] == [
        ("forged_or_altered", "ETC-2026-0320-01")
    ]


def test_placement_is_independent_of_signature() -> None:
    doc = validation_from_data(signed(TIC, document(TIC, revision=2)))
    cur = OnFile("L", doc.trf, 2, doc.issued, "sha256:x")
    r = placement(doc, "sha256:y", cur)
    assert isinstance(r, Refusal) and r.code == "revision_conflict"


# --- tamper evidence ------------------------------------------------------------------------


def _alterations(alphabet: list[int], seed: int) -> tuple[int, int]:
    """Change one byte of a signed file (canonical JSON, as the signer writes it) 200 times;
    return (refused, refused by the signature check itself)."""
    raw = dumps(signed(TIC, document(TIC)))
    rng = random.Random(seed)
    refused = by_signature = 0
    for _ in range(200):
        pos = rng.randrange(len(raw))
        new = rng.choice([b for b in alphabet if b != raw[pos]])
        altered = raw[:pos] + bytes([new]) + raw[pos + 1 :]
        try:
            data = parse_bytes(altered, "f")
            model = validation_from_data(data)
        except InputError:
            refused += 1
            continue
        if isinstance(check_signature(data, model, [TIC]), Refusal):
            refused += 1
            by_signature += 1
    original = parse_bytes(raw, "f")
    assert not isinstance(check_signature(original, validation_from_data(original), [TIC]), Refusal)
    return refused, by_signature


def test_every_one_of_200_random_byte_alterations_is_refused() -> None:
    """Any byte: bad UTF-8, bad JSON, a bad field, or a signature that fails; never accepted."""
    refused, by_signature = _alterations(list(range(256)), 20260201)
    assert refused == 200 and by_signature > 0


def test_every_one_of_200_printable_alterations_is_refused() -> None:
    """Printable ASCII only, so that many altered files are well-formed and valid documents
    that only the signature can tell from the original."""
    refused, by_signature = _alterations(list(range(0x20, 0x7F)), 7)
    assert refused == 200 and by_signature >= 40


def test_signature_value_must_be_canonical_base64() -> None:
    doc = signed(TIC, document(TIC))
    value = doc["signature"]["value"]
    assert value.endswith("==")
    # The last data character carries 4 unused bits: a variant decodes to the same bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    i = alphabet.index(value[-3])
    variant = value[:-3] + alphabet[i ^ 1] + "=="
    doc2 = copy.deepcopy(doc)
    doc2["signature"]["value"] = variant
    r = check_signature(doc2, validation_from_data(doc2), [TIC])
    assert isinstance(r, Refusal) and r.code == "bad_signature"


# --- P5 extension ---------------------------------------------------------------------------


def test_one_extension_only_by_the_handling_tic() -> None:
    due = date(2026, 3, 1)
    kw: dict[str, Any] = {"approved": ["sgs-us", "bv-us"], "handling": ["sgs-us"], "days": 60}
    ok = extend(due, tic="sgs-us", already_extended=False, open_=True, **kw)
    assert not isinstance(ok, str) and ok.new_due == date(2026, 4, 30)
    assert extend(due, tic="bv-us", already_extended=False, open_=True, **kw) == "not_handling"
    assert extend(due, tic="x", already_extended=False, open_=True, **kw) == "tic_not_approved"
    assert extend(due, tic="sgs-us", already_extended=True, open_=True, **kw) == "already_extended"
    assert extend(due, tic="sgs-us", already_extended=False, open_=False, **kw) == "closed"


def test_every_refusal_and_finding_has_words() -> None:
    from typing import get_args

    from toysafe.core.program.validation import Check, RefusalCode
    from toysafe.render.validation import _FINDING, _NEXT, _REFUSAL, finding_text, refusal_text

    assert set(_REFUSAL) == set(get_args(RefusalCode))
    assert set(_FINDING) == set(_NEXT) == set(get_args(Check))
    doc = document(TIC)
    doc["parameters"] = [p for p in doc["parameters"] if p["requirement"] != "16CFR1303"]
    out = run(signed(TIC, doc))
    assert finding_text(out.findings[0]).startswith("16CFR1303 (Lead in paint")
    replay = run(
        signed(TIC, document(TIC)), on_file=on_file(signed(TIC, document(TIC, revision=1)))
    )
    assert replay.refusal is not None
    assert "revision 0 is lower than revision 1 on file for B0TOY00001" in refusal_text(
        replay.refusal
    )

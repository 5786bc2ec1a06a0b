"""Lints over the knowledge base itself (PolicyEngine-style code-health tests)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from toysafe.core.law.knowledge import KnowledgeBaseError, Requirement
from toysafe.io.kb import KB_DIR, default_kb, load_kb

CASES_DIR = Path(__file__).parent / "cases"

# Contract section 2: every id that must be in the knowledge base.
F963_SECTIONS = (
    ["4.1", "4.2", "4.3.5.1(2)", "4.3.5.2", "4.3.6", "4.3.7"]
    + [f"4.{n}" for n in range(4, 20)]
    + ["4.20.1", "4.20.2", "4.21", "4.22", "4.23.1"]
    + [f"4.{n}" for n in range(24, 42)]
    + ["5", "6", "7"]
)
CONTRACT_IDS = [f"F963:{s}" for s in F963_SECTIONS] + [
    "16CFR1303",
    "16CFR1307",
    "16CFR1501",
    "16CFR1500.19",
    "16CFR1500.20",
    "16CFR1510",
    "16CFR1511",
    "16CFR1505",
    "16CFR1500.18(a)(17)",
    "16CFR1250.4",
    "16CFR1500.3(c)(6)",
    "16CFR1263",
    "16CFR1262",
    "15USC1278a",
    "15USC2063(a)(5)",
]

# 16 CFR 1112.15(b)(32) as listed in CPSC's toy guidance (the seed document): 37 items.
THIRD_PARTY_F963 = {
    "4.3.5.1(2)",
    "4.3.5.2",
    "4.3.6",
    "4.3.7",
    "4.5",
    "4.6",
    "4.7",
    "4.8",
    "4.9",
    "4.10",
    "4.11",
    "4.12",
    "4.13",
    "4.14",
    "4.15",
    "4.16",
    "4.17",
    "4.18",
    "4.19",
    "4.20.1",
    "4.20.2",
    "4.21",
    "4.22",
    "4.23.1",
    "4.24",
    "4.25",
    "4.26",
    "4.27",
    "4.30",
    "4.32",
    "4.35",
    "4.36",
    "4.37",
    "4.38",
    "4.39",
    "4.40",
    "4.41",
}

KB_FILES = sorted(KB_DIR.rglob("*.yaml"))


def test_every_contract_id_is_in_the_kb_with_a_citation() -> None:
    kb = default_kb()
    missing = [i for i in CONTRACT_IDS if i not in kb.by_id]
    assert not missing, f"missing from the knowledge base: {missing}"
    for rid in CONTRACT_IDS:
        assert kb.by_id[rid].citation.strip()
        assert kb.by_id[rid].references


def test_the_lab_list_matches_16cfr1112_15_b_32() -> None:
    assert len(THIRD_PARTY_F963) == 37
    kb = default_kb()
    for r in kb.requirements:
        if r.instrument == "astm_f963":
            assert r.third_party_testing == (r.section in THIRD_PARTY_F963), r.id


@pytest.mark.parametrize("path", KB_FILES, ids=lambda p: str(p.relative_to(KB_DIR)))
def test_kb_file_is_tidy(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "\t" not in text, "tabs"
    assert text.endswith("\n"), "no final newline"
    data = yaml.safe_load(text)
    for ref in data.get("references", []):
        assert re.match(r"^https?://[^\s]+$", ref["href"]), ref
    if data["kind"] == "requirement":
        # File names follow the citation: 4_38_magnets.yaml, 1500_18_a_17_small_balls.yaml.
        cited = [int(n) for n in re.findall(r"\d+", data["id"].split(":")[-1])]
        if data["id"].startswith("16CFR"):
            cited = cited[1:] if cited[0] == 16 else cited
            assert f"part_{cited[0]}" in str(path), "not in its part folder"
        if data["id"].startswith("15USC"):
            cited = cited[1:]
        named = [int(n) for n in re.findall(r"\d+", path.stem)][: len(cited)]
        assert named == cited, f"{path.name} does not follow {data['id']}"


def test_effective_dates_are_ordered() -> None:
    for r in default_kb().requirements:
        if r.effective.from_ and r.effective.to:
            assert r.effective.from_ < r.effective.to, r.id


def test_unconfirmed_facts_are_never_stated_as_confirmed() -> None:
    """Anything a file calls UNCONFIRMED must not sit in a file marked confirmed-only."""
    for path in KB_FILES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "UNCONFIRMED" in path.read_text(encoding="utf-8"):
            levels = {data.get("confidence"), data.get("third_party_confidence")}
            levels |= {m.get("confidence") for m in data.get("materials", [])}
            notes = " ".join(str(data.get(k, "")) for k in ("notes", "third_party_basis"))
            assert "UNCONFIRMED" in notes or levels - {"confirmed", None}, path


def test_every_requirement_has_cases_both_ways() -> None:
    """YAML cases: at least one where the requirement applies and one where it does not."""
    seen: dict[str, set[bool]] = {}
    for path in CASES_DIR.rglob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            if "applies" in case["expect"]:
                seen.setdefault(data["requirement"], set()).add(case["expect"]["applies"])

    def wanted(r: Requirement) -> set[bool]:
        never = r.restates or (r.applies_when or {}).get("never")
        return {False} if never else {True, False}

    lacking = [r.id for r in default_kb().requirements if seen.get(r.id) != wanted(r)]
    assert not lacking, f"requirements without an applies and a not-applies case: {lacking}"


def _write(tmp: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return tmp


EDITIONS = """kind: editions
title: t
editions:
  - {id: F963-23, effective_from: 2024-04-20, confidence: confirmed,
     references: [{title: FR notice, href: "https://example.org/fr"}]}
"""
GOOD = """kind: requirement
id: "F963:4.38"
title: Magnets
citation: "ASTM {edition} §4.38"
instrument: astm_f963
section: "4.38"
scope: toy_standard
effective: {from: 2009-02-10}
applies_when: {feature: magnet}
third_party_testing: true
third_party_basis: "16 CFR 1112.15(b)(32)"
summary: "No loose hazardous magnets."
confidence: secondary
references: [{title: CPSC guidance, href: "https://www.cpsc.gov/x"}]
"""


def test_a_good_minimal_kb_loads(tmp_path: Path) -> None:
    kb = load_kb(_write(tmp_path, {"editions.yaml": EDITIONS, "r.yaml": GOOD}))
    assert [r.id for r in kb.requirements] == ["F963:4.38"]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (GOOD.replace("summary:", "sumary:"), "sumary"),
        (GOOD.replace('citation: "ASTM {edition} §4.38"\n', ""), "citation"),
        (
            GOOD.replace(
                'references: [{title: CPSC guidance, href: "https://www.cpsc.gov/x"}]',
                "references: []",
            ),
            "references",
        ),
        (GOOD.replace("{feature: magnet}", "{feature: magnets}"), "unknown feature"),
        (GOOD.replace("{feature: magnet}", "{age_under: 36}"), "unknown condition"),
        (GOOD.replace("{from: 2009-02-10}", "{}"), "note"),
        (GOOD.replace('"ASTM {edition} §4.38"', '"ASTM F963 §4.38"'), "{edition}"),
        (GOOD.replace("title: Magnets", "title: Magnets\ntitle: Again"), "duplicate key"),
        (GOOD.replace('id: "F963:4.38"', 'id: "magnets"'), "requirement id"),
    ],
)
def test_the_loader_rejects_broken_files(tmp_path: Path, broken: str, message: str) -> None:
    with pytest.raises(KnowledgeBaseError, match=re.escape(message)):
        load_kb(_write(tmp_path, {"editions.yaml": EDITIONS, "r.yaml": broken}))


def test_the_loader_rejects_dangling_references(tmp_path: Path) -> None:
    restating = GOOD.replace("applies_when: {feature: magnet}", "restates: 16CFR9999")
    with pytest.raises(KnowledgeBaseError, match="restates unknown requirement"):
        load_kb(_write(tmp_path, {"editions.yaml": EDITIONS, "r.yaml": restating}))


def test_limits_are_well_formed_and_do_not_overlap() -> None:
    from toysafe.core.evidence.units import known_unit

    for r in default_kb().requirements:
        windows: dict[tuple[str, str], list[tuple[object, object]]] = {}
        for lim in r.limits:
            assert known_unit(lim.unit), f"{r.id}: unit {lim.unit}"
            key = (lim.analyte, repr(lim.applies_to))
            for start, end in windows.get(key, []):
                a0, a1 = lim.from_ or date.min, lim.to or date.max
                assert a1 <= start or a0 >= end, f"{r.id}: overlapping limits for {lim.analyte}"
            windows.setdefault(key, []).append((lim.from_ or date.min, lim.to or date.max))
        if r.testing and r.testing.analytes:
            assert set(r.testing.analytes) <= {lim.analyte for lim in r.limits}, r.id


def test_the_boundaries_are_as_the_rules_word_them() -> None:
    kb = default_kb()
    today = date(2026, 11, 21)

    def limit(rid: str, analyte: str) -> tuple[float, str]:
        found = [
            x
            for x in kb.by_id[rid].limits
            if x.analyte == analyte and x.applies_to is None and x.in_force(today, today)
        ]
        assert len(found) == 1
        return found[0].max, found[0].unit

    assert limit("16CFR1303", "Pb") == (90, "ppm")
    assert limit("15USC1278a", "Pb") == (100, "ppm")
    assert {a: limit("16CFR1307", a) for a in ("DEHP", "DINP", "DCHP")} == {
        "DEHP": (0.1, "%"),
        "DINP": (0.1, "%"),
        "DCHP": (0.1, "%"),
    }
    soluble = {"Sb": 60, "As": 25, "Ba": 1000, "Cd": 75, "Cr": 60, "Pb": 90, "Hg": 60, "Se": 500}
    for rid in ("F963:4.3.5.1(2)", "F963:4.3.5.2"):
        assert {a: limit(rid, a)[0] for a in soluble} == soluble


def test_parameters_are_cited() -> None:
    kb = default_kb()
    assert kb.months("marketplace-certification-period", "default").months == 12
    plans = ("periodic", "production", "iso17025")
    assert [kb.months("16CFR1107.21", k).months for k in plans] == [12, 24, 36]

"""The example product profiles in ``examples/products``, checked against the law.

Each example has an expectation table below, written from the rules themselves (ages in months;
"children's product" = for children 12 and under, ASTM F963 = toys for children under 14), not
copied from the engine's output:

- ``certificate``: CPC for a children's product, GCC for a general-use product subject to a rule
  (a toy for 12-13 year-olds is still under ASTM F963 / 16 CFR 1250), ``none`` otherwise.
- ``toy_standard``: the F963 edition in force on the manufacture date (F963-23 for toys made on or
  after 2024-04-20, F963-17 from 2018-02-28), ``None`` for toys for ages 14 and up.
- ``applies``: requirement id -> whether a CPSC-accepted lab must test it (``None``: applies, lab
  question not pinned down by this table).
- ``not_applies``: ids that must be considered and set aside (listed under ``not_applicable``).
- ``components``: requirement id -> {component id: lab test needed} for the parts the rule covers.
- ``warnings`` (exact set of 16 CFR 1500.19 statement keys) or ``warnings_include`` (subset).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from toysafe.cli.app import app
from toysafe.core.law.engine import assess
from toysafe.core.law.profile import gtin_check_digit_ok
from toysafe.io.kb import default_kb
from toysafe.io.profiles import read_profile

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "products"
AS_OF = date(2026, 11, 21)

# Shorthands for readability of the table.
LAB, NO_LAB, ANY = True, False, None

EXPECT: dict[str, dict[str, Any]] = {
    # 0+ plush: under 3, so small parts are banned (1501) rather than warned about; stuffing is
    # tested (F963 4.3.7); textiles are exempt from lead testing (16 CFR 1500.91); no paint.
    "plush-elephant": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {
            "F963:4.27": ANY,
            "F963:4.3.7": LAB,
            "F963:4.6": LAB,
            "16CFR1501": LAB,
            "16CFR1307": ANY,
            "15USC1278a": NO_LAB,
            "15USC2063(a)(5)": NO_LAB,
        },
        "not_applies": [
            "16CFR1303",
            "F963:4.3.5.1(2)",
            "16CFR1510",
            "F963:4.5",
            "F963:4.25",
            "16CFR1500.20",
        ],
        "warnings": set(),
    },
    # Rattle: 16 CFR 1510 and F963 4.23.1 apply; rattles are exempt from 16 CFR 1501 (1501.3)
    # and so from F963 4.6; its plastics are mouthed (under 6), so substrate elements are tested.
    "infant-rattle": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {
            "16CFR1510": LAB,
            "F963:4.23.1": LAB,
            "F963:4.5": LAB,
            "F963:4.3.5.2": LAB,
            "16CFR1307": ANY,
            "15USC1278a": LAB,
        },
        "not_applies": ["16CFR1501", "F963:4.6", "16CFR1303", "F963:4.3.5.1(2)", "16CFR1511"],
        "warnings": set(),
    },
    # Painted wood for 12 months+: every paint colour is tested for lead (1303) and, being
    # mouthable, for soluble elements (F963 4.3.5.1(2)); the unfinished wood needs no lab test
    # for elements (16 CFR 1251) or total lead (16 CFR 1500.91), though both rules still apply.
    "painted-wooden-stacker": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {
            "16CFR1303": LAB,
            "F963:4.3.5.1(2)": LAB,
            "F963:4.3.5.2": NO_LAB,
            "15USC1278a": NO_LAB,
            "16CFR1501": LAB,
            "F963:4.6": LAB,
        },
        "components": {
            "16CFR1303": {
                f"paint-{c}": LAB for c in ("red", "orange", "yellow", "green", "blue", "purple")
            },
            "F963:4.3.5.1(2)": {
                f"paint-{c}": LAB for c in ("red", "orange", "yellow", "green", "blue", "purple")
            },
        },
        "not_applies": ["F963:4.38", "16CFR1510", "F963:4.25", "F963:4.5"],
        "warnings": set(),
    },
    # Magnets in a toy for children under 14: F963 4.38, not the magnet-product rule 16 CFR 1262.
    "magnetic-tiles": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {"F963:4.38": LAB, "F963:4.3.5.2": LAB, "16CFR1307": ANY},
        "components": {"F963:4.38": {"magnets": LAB}},
        "not_applies": ["16CFR1262", "16CFR1501", "F963:4.6", "16CFR1303", "16CFR1500.20"],
        "warnings": set(),
    },
    # 8+ blaster: projectiles and batteries are tested; not mouthable at 8+, so no soluble
    # heavy-element test; no small-parts rule or warning at 8+; cylindrical cells, and a toy
    # anyway, so not Reese's law (16 CFR 1263).
    "foam-dart-blaster": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {"F963:4.21": LAB, "F963:4.25": LAB, "15USC1278a": LAB, "16CFR1307": ANY},
        "not_applies": [
            "F963:4.3.5.1(2)",
            "F963:4.3.5.2",
            "16CFR1501",
            "F963:4.6",
            "16CFR1263",
            "16CFR1303",
            "16CFR1500.20",
        ],
        "warnings": set(),
    },
    # 6+ slime kit: liquids and pastes are tested for microbial cleanliness (F963 4.3.6); the
    # glue is an art material (LHAMA, 16 CFR 1500.14(b)(8), which F963 4.29 restates: issue 10
    # cites the federal rule itself); 6+ is past both the small-parts warning (3 to under 6)
    # and the mouthing presumption (under 6).
    "slime-kit": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {"F963:4.3.6": LAB, "16CFR1500.14(b)(8)": ANY, "16CFR1307": ANY},
        "not_applies": [
            "F963:4.29",
            "F963:4.3.5.2",
            "16CFR1501",
            "F963:4.6",
            "16CFR1303",
            "16CFR1500.20",
        ],
        "warnings": set(),
    },
    # 1-3 year push ride-on: stability (4.15), wheels/axles (4.17, under 8), jaw entrapment in
    # the steering wheel (4.39, toys for children under 18 months), batteries (4.25; toys are
    # outside 16 CFR 1263), small parts banned under 3.
    "push-ride-on-car": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {
            "F963:4.15": LAB,
            "F963:4.17": LAB,
            "F963:4.39": LAB,
            "F963:4.25": LAB,
            "F963:4.5": LAB,
            "16CFR1501": LAB,
            "F963:4.6": LAB,
        },
        "not_applies": ["16CFR1263", "16CFR1505", "F963:4.4", "16CFR1303"],
        "warnings": set(),
    },
    # Teether: F963 4.22; a child care article and a toy, so phthalates apply; the silicone is
    # mouthed and tested for elements, the untreated beech ring is not (16 CFR 1251). Not a
    # pacifier (16 CFR 1511, F963 4.20.1).
    "silicone-teether": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {"F963:4.22": LAB, "16CFR1307": LAB, "F963:4.3.5.2": LAB, "16CFR1501": LAB},
        "components": {"F963:4.3.5.2": {"teether-body": LAB, "wood-ring": NO_LAB}},
        "not_applies": ["16CFR1511", "F963:4.20.1", "16CFR1510", "16CFR1303"],
        "warnings": set(),
    },
    # Crib mobile: crib and playpen toys (4.26), sound (4.5), batteries (4.25), cords for a toy
    # under 18 months (4.14), stuffed figures (4.27, 4.3.7); AA cells, no mains power.
    "crib-mobile": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {
            "F963:4.26": LAB,
            "F963:4.5": LAB,
            "F963:4.25": LAB,
            "F963:4.14": LAB,
            "F963:4.27": ANY,
            "F963:4.3.7": LAB,
            "16CFR1501": LAB,
        },
        "not_applies": ["16CFR1505", "16CFR1263", "F963:4.4", "16CFR1303"],
        "warnings": set(),
    },
    # 14+ collectible: outside ASTM F963 (under 14 only) and not a children's product, so no
    # CPSIA lead/phthalate/tracking rule and no certificate at all.
    "collectible-figure": {
        "certificate": "none",
        "toy_standard": None,
        "children_product": False,
        "applies": {},
        "no_f963": True,
        "no_lab": True,
        "not_applies": [
            "16CFR1303",
            "16CFR1307",
            "15USC1278a",
            "15USC2063(a)(5)",
            "16CFR1501",
            "F963:4.1",
        ],
        "warnings": set(),
    },
    # 13+ drone: under 14, so ASTM F963 (16 CFR 1250) applies, but not a children's product
    # (over 12): a GCC on a reasonable testing program, no accepted lab, no CPSIA
    # children's-product rules.
    "rc-drone": {
        "certificate": "GCC",
        "toy_standard": "F963-23",
        "children_product": False,
        "applies": {"F963:4.25": NO_LAB, "F963:4.1": NO_LAB},
        "no_lab": True,
        "not_applies": ["16CFR1307", "16CFR1303", "15USC1278a", "15USC2063(a)(5)", "16CFR1263"],
        "warnings": set(),
    },
    # 8+ painted die-cast: paint is tested for lead (1303) on any children's product, but the
    # soluble-element tests are for parts that can be mouthed, which an 8+ toy is not presumed
    # to be; the zinc-alloy body needs total-lead testing; PVC tyres need phthalate testing.
    "diecast-truck": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {"16CFR1303": LAB, "15USC1278a": LAB, "16CFR1307": LAB},
        "components": {"16CFR1303": {"body-paint": LAB, "tampo-print": LAB}},
        "not_applies": ["F963:4.3.5.1(2)", "F963:4.3.5.2", "16CFR1501", "F963:4.6", "16CFR1500.20"],
        "warnings": set(),
    },
    # 3+ marble run made 2023-11 (before F963-23's 2024-04-20 date, so F963-17): glass marbles
    # for ages 3 to under 8 need "contains a marble", and small parts for 3 to under 6 need the
    # small-parts statement (16 CFR 1500.19); the same statements go into the Amazon listing
    # (1500.20). Small parts are not banned at 3+; there is no small ball.
    "marble-run": {
        "certificate": "CPC",
        "toy_standard": "F963-17",
        "children_product": True,
        "applies": {
            "F963:4.33": NO_LAB,
            "16CFR1500.19": NO_LAB,
            "16CFR1500.20": NO_LAB,
            "F963:4.6": NO_LAB,
        },
        "not_applies": ["16CFR1501", "16CFR1500.18(a)(17)", "F963:4.34"],
        "warnings_include": {"contains_marble", "small_parts"},
    },
    # Latex balloons: the balloon statement is due whatever the age grade (15 U.S.C. 1278(b)),
    # and in the online listing; balloons are exempt from 16 CFR 1501 (and the kit is 8+).
    "balloon-party-kit": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {"F963:4.31": NO_LAB, "16CFR1500.19": NO_LAB, "16CFR1500.20": NO_LAB},
        "not_applies": ["16CFR1501", "F963:4.6", "16CFR1303"],
        "warnings": {"balloon"},
    },
    # 0+ stroller toy: stroller and carriage toys (4.28), cords (4.14), squeaker (4.24), stuffed
    # (4.27, 4.3.7), small parts banned under 3; not a crib toy, not a rattle.
    "stroller-activity-toy": {
        "certificate": "CPC",
        "toy_standard": "F963-23",
        "children_product": True,
        "applies": {
            "F963:4.28": ANY,
            "F963:4.14": LAB,
            "F963:4.24": LAB,
            "F963:4.27": ANY,
            "F963:4.3.7": LAB,
            "16CFR1501": LAB,
        },
        "not_applies": ["16CFR1510", "F963:4.26", "16CFR1303"],
        "warnings": set(),
    },
}


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml"))


def _assess(name: str) -> Any:
    return assess(read_profile(EXAMPLES / f"{name}.yaml"), default_kb(), AS_OF)


def test_examples_and_table_match() -> None:
    names = {p.stem for p in example_files()}
    assert len(names) >= 12
    assert names == set(EXPECT), (
        f"without expectations: {sorted(names - set(EXPECT))}; "
        f"without a file: {sorted(set(EXPECT) - names)}"
    )


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_example_is_a_complete_listing(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("# ") and len(first) > 20, "first line must say what the example is"
    data = yaml.safe_load(text)
    for key in (
        "sku",
        "name",
        "brand",
        "model",
        "gtin",
        "asins",
        "age",
        "manufactured",
        "made_in",
        "components",
    ):
        assert data.get(key), f"{key} is missing"
    assert isinstance(data["gtin"], str) and gtin_check_digit_ok(data["gtin"])
    profile = read_profile(path)
    assert profile.made_in is not None and profile.manufactured is not None


def test_skus_and_gtins_are_unique() -> None:
    profiles = [read_profile(p) for p in example_files()]
    assert len({p.sku for p in profiles}) == len(profiles)
    assert len({p.gtin for p in profiles}) == len(profiles)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_against_the_law(name: str) -> None:
    want = EXPECT[name]
    result = _assess(name)
    applicable = {r.id: r for r in result.requirements}
    set_aside = {n.id for n in result.not_applicable}
    problems: list[str] = []

    for key in ("certificate", "toy_standard", "children_product"):
        if getattr(result, key) != want[key]:
            problems.append(f"{key}: expected {want[key]!r}, got {getattr(result, key)!r}")

    for rid, lab in want["applies"].items():
        req = applicable.get(rid)
        if req is None:
            problems.append(f"{rid} should apply but does not")
        elif lab is not None and req.third_party_testing != lab:
            problems.append(
                f"{rid}: third_party_testing expected {lab}, got "
                f"{req.third_party_testing} ({'; '.join(req.reasons)})"
            )

    for rid, comps in want.get("components", {}).items():
        req = applicable.get(rid)
        if req is None:
            continue  # already reported above
        got = {c.id: c.third_party_testing for c in req.components}
        if got != comps:
            problems.append(f"{rid}: components expected {comps}, got {got}")

    for rid in want["not_applies"]:
        if rid in applicable:
            problems.append(
                f"{rid} should not apply but does ({'; '.join(applicable[rid].reasons)})"
            )
        elif rid not in set_aside:
            problems.append(f"{rid} is neither applicable nor set aside (unknown id?)")

    if want.get("no_f963"):
        f963 = sorted(rid for rid in applicable if rid.startswith("F963:"))
        if f963:
            problems.append(f"no F963 requirement should apply, got {f963}")
    if want.get("no_lab"):
        lab = sorted(r.id for r in result.requirements if r.third_party_testing)
        if lab:
            problems.append(f"no requirement should need a lab, got {lab}")

    keys = {w.key for w in result.warnings}
    if "warnings" in want and keys != want["warnings"]:
        problems.append(f"warnings expected {sorted(want['warnings'])}, got {sorted(keys)}")
    if "warnings_include" in want and not want["warnings_include"] <= keys:
        problems.append(
            f"warnings should include {sorted(want['warnings_include'])}, got {sorted(keys)}"
        )

    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


runner = CliRunner()


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_example_through_the_cli_as_json(path: Path) -> None:
    result = runner.invoke(
        app, ["assess", str(path), "--as-of", AS_OF.isoformat(), "--format", "json"]
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    doc = json.loads(result.stdout)
    assert doc["format"] == "toysafe/assessment@1"
    assert doc["sku"] == read_profile(path).sku
    assert doc["as_of"] == AS_OF.isoformat()
    assert doc["certificate"] == EXPECT[path.stem]["certificate"]
    assert doc["toy_standard"] == EXPECT[path.stem]["toy_standard"]

"""Cases built from real CPSC recall notices: does toysafe flag the requirement each violated?

Each case names its recall (CPSC release or recall number where the notice gives one, the recall
date, the product and the page where the notice was read). The profile describes the product as
the notice does, made when the notice says it was sold; the defect the notice reports is given
the way a seller's data or a lab report would carry it (a part that is a small part, a measured
lead value above the limit, a magnet that fits the small-parts cylinder). Measured values are
illustrative of "excessive levels" where the notice gives no figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.verify import report_problems, verify
from toysafe.core.law.engine import assess
from toysafe.io.kb import default_kb
from toysafe.io.profiles import profile_from_data

KB = default_kb()
AS_OF = date(2026, 11, 21)  # judged today; the profiles carry the manufacture dates


@dataclass(frozen=True)
class Recall:
    recall: str  # CPSC release/recall number, else the model number or name the notice gives
    recalled: str  # the recall date as the page read gives it (day, month or year)
    product: str
    source: str
    violated: str  # the requirement id toysafe must flag
    profile: dict[str, Any]
    # How the defect shows: "small_part" (a banned small part, alert), "lab" (a lab result over
    # the limit, verification fails), "applies" (the rule applies and needs a CPSC-accepted lab)
    defect: str
    lab_results: list[dict[str, Any]] = field(default_factory=list)
    warning: str | None = None  # a cautionary statement the product should have carried


def _toy(made: str, months: int, *components: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "sku": "RECALL",
        "name": "Recalled product",
        "age": {"min_months": months},
        "manufactured": made,
        "made_in": {"city": "Shenzhen", "country": "CN"},
        "components": list(components),
        **extra,
    }


def _paint(pb: float) -> list[dict[str, Any]]:
    return [
        {
            "requirement": "16CFR1303",
            "component": "paint",
            "analyte": "Pb",
            "value": pb,
            "unit": "ppm",
        }
    ]


SMALL = {"id": "detached", "material": "plastic_other", "small_part": True}
PAINT = {"id": "paint", "material": "surface_coating"}
MAGNETS = {"id": "magnets", "material": "magnet_material", "small_part": True}

RECALLS = [
    # --- small parts for children under 3 (16 CFR 1501, 1500.18(a)(9)) ---
    Recall(
        "03-171",
        "2003-08-21",
        "Small World Toys Puzzibilities Recycling Truck Puzzle",
        "https://recalls.justia.com/infants-and-children/puzzles/03-171/",
        "16CFR1501",
        _toy(
            "2003-02",
            12,
            {"id": "board", "material": "wood_finished"},
            {"id": "newspapers", "material": "wood_finished", "small_part": True},
        ),
        "small_part",
    ),
    Recall(
        "95-094",
        "1995-03-22",
        "The Bazaar vinyl squeeze toys (squeak button separates)",
        "https://ismyproductrecalled.com/category/toys?page=49",
        "16CFR1501",
        _toy(
            "1993-01",
            0,
            {"id": "body", "material": "plastic_pvc"},
            {"id": "squeaker", "material": "plastic_other", "small_part": True},
            features=["squeeze_toy"],
        ),
        "small_part",
    ),
    Recall(
        "95-095",
        "1995-03-22",
        "Hebron Imports Pom Pom Drum toys #808",
        "https://ismyproductrecalled.com/category/toys?page=49",
        "16CFR1501",
        _toy(
            "1994-06",
            12,
            {"id": "drum", "material": "plastic_other"},
            {"id": "balls", "material": "plastic_other", "small_part": True},
        ),
        "small_part",
    ),
    Recall(
        "98-102",
        "1998-04-28",
        "Sanrio Mascot Plushes animal toys (bells detach)",
        "https://ismyproductrecalled.com/category/toys?page=47",
        "16CFR1501",
        _toy(
            "1997-10",
            0,
            {"id": "plush", "material": "textile_synthetic"},
            {"id": "bell", "material": "metal", "small_part": True},
            features=["stuffed"],
        ),
        "small_part",
    ),
    Recall(
        "01-081",
        "2001-02-08",
        "Chick-fil-A Planet Discovery kid's meal toys (suction cup)",
        "https://ismyproductrecalled.com/category/toys?page=43",
        "16CFR1501",
        _toy(
            "2000-12",
            0,
            {"id": "disk", "material": "plastic_other"},
            {"id": "suction-cup", "material": "rubber", "small_part": True},
        ),
        "small_part",
    ),
    Recall(
        "03-155",
        "2003-07-01",
        "Small Small World Egg Dippers Easter plush toys (beads)",
        "https://govinfonow.com/product_recall_number/03-155",
        "16CFR1501",
        _toy(
            "2003-01",
            0,
            {"id": "plush", "material": "textile_synthetic"},
            {"id": "beads", "material": "plastic_other", "small_part": True},
            features=["stuffed"],
        ),
        "small_part",
    ),
    Recall(
        "10-005",
        "2009-10-07",
        "Daiso wooden toys (Penguin Handbell, pull toys)",
        "http://over30mommy.blogspot.com/2009/10/recall-notice-daisco-wooden-toys.html",
        "16CFR1501",
        _toy(
            "2008-12",
            12,
            {"id": "body", "material": "wood_finished"},
            {"id": "bell", "material": "metal", "small_part": True},
        ),
        "small_part",
    ),
    Recall(
        "Basic Rhythms Drums",
        "2010-04-27",
        "Step2 Basic Rhythms Drums (drumstick clips)",
        "https://www.consumerwatch.com/children/toys/",
        "16CFR1501",
        _toy(
            "2009-08",
            12,
            {"id": "drum", "material": "plastic_pe"},
            {"id": "clip", "material": "plastic_other", "small_part": True},
        ),
        "small_part",
    ),
    Recall(
        "Hug N' Tug 80213/80214/61083",
        "2012 (Toy Association 2012 recall list)",
        "Sassy Hug N' Tug Puppy and Monkey toys (beads)",
        "https://toyassociation.org/toys/advocacy/recalls/2012-recalls.aspx",
        "16CFR1501",
        _toy(
            "2011-06",
            0,
            {"id": "body", "material": "textile_synthetic"},
            {"id": "beads", "material": "plastic_other", "small_part": True},
            features=["stroller_toy"],
        ),
        "small_part",
    ),
    Recall(
        "Disney Baby My First",
        "2023-02-16",
        "Kids Preferred Disney Baby My First vinyl figurines",
        "https://www.narcity.com/certain-disney-toys-are-being-recalled-by-health-canada-due-to-a-potential-choking-hazard",
        "16CFR1501",
        _toy(
            "2022-05",
            0,
            {"id": "figure", "material": "plastic_pvc"},
            {"id": "limb", "material": "plastic_pvc", "small_part": True},
        ),
        "small_part",
    ),
    Recall(
        "324-06-3185",
        "2023-11-17",
        "Target Hearth & Hand Toy Mushroom Peg Sorters",
        "https://www.nasdaq.com/articles/target-recalls-toy-mushroom-peg-sorters",
        "16CFR1501",
        _toy(
            "2023-07",
            12,
            {"id": "board", "material": "wood_finished"},
            {"id": "mushroom-top", "material": "wood_finished", "small_part": True},
        ),
        "small_part",
    ),
    Recall(
        "HPJ88 (2024)",
        "2024-03 (reports as of 2024-03-21)",
        "Fisher-Price Little People Mickey and Friends",
        "https://24canews.com/health/health-canada-issues-recall-for-some-disney-character-toys-national-24ca-news",
        "16CFR1501",
        _toy(
            "2023-06",
            12,
            {"id": "figure", "material": "plastic_other"},
            {"id": "duck-head", "material": "plastic_other", "small_part": True},
        ),
        "small_part",
    ),
    Recall(
        "215210",
        "2022 (sold to 2022-03)",
        "Manhattan Toy Activity Loops (rings)",
        "https://austinfamily.com/government-recalls-activity-toys-baby-rompers-and-plush-books/",
        "16CFR1501",
        _toy(
            "2021-06",
            12,
            {"id": "base", "material": "wood_finished"},
            {"id": "ring", "material": "plastic_other", "small_part": True},
        ),
        "small_part",
    ),
    # --- lead in paint (16 CFR 1303) ---
    Recall(
        "06-236",
        "2006 (release 06-236)",
        "Fun Express bendable dog and cat toys given at libraries",
        "https://plainrecalls.com/recall/06236-lead-poisoning-hazard-prompts-recall-of-fun-express-children-s-toys-given-away-a",
        "16CFR1303",
        _toy("2006-01", 36, {"id": "body", "material": "plastic_pvc"}, PAINT),
        "lab",
        _paint(2000),
    ),
    Recall(
        "Winnie-the-Pooh tops",
        "2007-11",
        "Schylling Winnie-the-Pooh Spinning Tops",
        "http://distributionbusinessarticles.blogspot.com/2007/12/twenty-percent-of-november-recalls-due.html",
        "16CFR1303",
        _toy("2007-06", 36, {"id": "handle", "material": "wood_finished"}, PAINT),
        "lab",
        _paint(1500),
    ),
    Recall(
        "7210/7211/13275A",
        "2007 (sold to 2007-11)",
        "Christmas Tree Shops Big Wooden Blocks and Jumbo Wooden Train Sets",
        "http://bbs.angui.org.cn/thread-3674-12-1.html",
        "16CFR1303",
        _toy("2006-10", 12, {"id": "block", "material": "wood_finished"}, PAINT),
        "lab",
        _paint(1200),
    ),
    Recall(
        "OKK Toy Army Figures",
        "2008 (sold 2008-06 to 2008-09)",
        "OKK Trading Toy Army Figures (face paint)",
        "https://www.yourlawyer.com/newsinferno/two-toys-recalled-for-lead-standard-violations/",
        "16CFR1303",
        _toy("2008-06", 36, {"id": "figure", "material": "plastic_other"}, PAINT),
        "lab",
        _paint(900),
    ),
    Recall(
        "Oriental Trading banks",
        "2010-12-22",
        "Oriental Trading ceramic piggy and lion banks",
        "https://htfbw.com/toys/Other-Toys/60995.shtml",
        "16CFR1303",
        _toy("2010-01", 36, {"id": "bank", "material": "ceramic"}, PAINT),
        "lab",
        _paint(300),
    ),
    Recall(
        "Toy Story 3 Bowling",
        "2011-05-05",
        "G.A. Gertmenian Toy Story 3 Bowling Game (red paint)",
        "https://htfbw.com/toys/Other-Toys/60995.shtml",
        "16CFR1303",
        _toy("2010-09", 36, {"id": "pin", "material": "plastic_pe"}, PAINT),
        "lab",
        _paint(150),
    ),
    # --- magnets in toys (ASTM F963 4.38) ---
    Recall(
        "Buckyballs",
        "2010-05-27",
        "Maxfield and Oberton Buckyballs (labelled 13+)",
        "https://www.consumerwatch.com/children/toys/",
        "F963:4.38",
        _toy("2010-01", 156, MAGNETS, features=["magnet"]),
        "applies",
    ),
    Recall(
        "XpressGoods 5mm",
        "2023-12-07",
        "XpressGoods Neodymium Magic Magnetic Balls, 5mm",
        "https://www.cpsc.gov/Recalls/2024/XpressGoods-Recalls-High-Powered-Magnetic-Balls-Due-to-Ingestion-Hazard-Failure-to-Meet-Federal-Safety-Regulation-for-Toy-Magnet-Sets",
        "F963:4.38",
        _toy("2023-03", 96, MAGNETS, features=["magnet"]),
        "applies",
    ),
    Recall(
        "Relax 5mm Science Kit",
        "2023-12-28",
        "Relax 5mm Science Kit magnetic balls (Joybuy)",
        "https://www.cpsc.gov/Recalls/2024/High-Powered-Magnetic-Balls-Recalled-Due-to-Ingestion-Hazard-Sold-Exclusively-on-Walmart-com-through-Joybuy",
        "F963:4.38",
        _toy("2022-02", 96, MAGNETS, features=["magnet"]),
        "applies",
    ),
    Recall(
        "24097",
        "2024-02-01",
        "DailySale Magnetic DIY Balls Magic Cube, 5mm",
        "https://mrproductreviews.com/review/dangerous-dailysale-magnetic-balls-recall-urgent-action-required/",
        "F963:4.38",
        _toy("2021-07", 96, MAGNETS, features=["magnet"]),
        "applies",
    ),
    Recall(
        "Magnetic Stones 226pcs",
        "2024-03-07",
        "Magnetic Stones Toy Creativity Development DIY beads",
        "https://www.cpsc.gov/Recalls/2024/High-Powered-Magnetic-Ball-Sets-Recalled-Due-to-Ingestion-Hazard-Violation-of-the-Federal-Safety-Regulation-for-Toy-Magnet-Sets-Sold-Exclusively-on-Walmart-com-through-Joybuy",
        "F963:4.38",
        _toy("2022-08", 96, MAGNETS, features=["magnet"]),
        "applies",
    ),
    # --- pacifiers (16 CFR 1511) ---
    Recall(
        "90-070",
        "1990-04-12",
        "Consolidated Stores bib to bowl pacifiers (no vent holes)",
        "https://ismyproductrecalled.com/category/baby?page=55",
        "16CFR1511",
        _toy(
            "1989-05",
            0,
            {"id": "shield", "material": "plastic_pp"},
            toy=False,
            features=["pacifier"],
        ),
        "applies",
    ),
]


def _verify(case: Recall) -> Any:
    prof = profile_from_data(case.profile, case.recall)
    report = LabReport.model_validate(
        {
            "report_no": f"RECALL-{case.recall}",
            "lab": {"cpsc_id": "1234", "name": "Example Testing Co."},
            "issued": AS_OF.isoformat(),
            "tested": {"from": AS_OF.isoformat(), "to": AS_OF.isoformat()},
            "products": [{"sku": "RECALL"}],
            "results": case.lab_results,
        }
    )
    assert report_problems([("r", report)], KB, AS_OF) == []
    return verify(prof, assess(prof, KB, AS_OF), [report], KB, AS_OF)


def test_there_are_at_least_twenty_recalls_each_named() -> None:
    assert len(RECALLS) >= 20
    assert len({(r.recall, r.product) for r in RECALLS}) == len(RECALLS)
    assert all(
        r.source.startswith("http") and r.product and r.violated in KB.by_id for r in RECALLS
    )


@pytest.mark.parametrize("case", RECALLS, ids=lambda r: f"{r.recall} {r.product[:40]}")
def test_the_violated_requirement_is_flagged(case: Recall) -> None:
    prof = profile_from_data(case.profile, case.recall)
    a = assess(prof, KB, AS_OF)
    applied = a.requirement(case.violated)
    why = next((n.reasons for n in a.not_applicable if n.id == case.violated), ())
    assert applied is not None, f"{case.violated} not applied: {why}"
    if case.defect == "small_part":
        assert any(al.requirement == case.violated and "banned" in al.message for al in a.alerts)
    elif case.defect == "lab":
        check = _verify(case).requirement(case.violated)
        assert check is not None and check.status == "fail", check
    elif case.defect == "applies":
        made = prof.manufactured.last if prof.manufactured else AS_OF
        duty = KB.by_id[case.violated].third_party_duty
        owed = a.children_product and a.certificate != "none"
        owed = owed and (duty is None or made >= duty.from_)
        assert applied.third_party_testing == owed, applied.reasons
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(case.defect)

"""The program's rules P1-P14 on SQLite and PostgreSQL: scope, one open request per listing,
every trigger, clocks, the ladder, account health, the trusted tier, the idempotent sweep."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, insert, select, update

from toysafe.core.program.policy import audit_draw
from toysafe.io.profiles import read_profile
from toysafe.io.program import parse_complaints, parse_listings, policy_from_data
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program import policies, views
from toysafe.store.program.feeds import import_complaints, import_listings, table
from toysafe.store.program.products import facts_of
from toysafe.store.program.sweep import sweep
from toysafe.store.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples" / "program" / "policy.yaml"
HEADER = (
    "listing_id,seller,category,title,brand,model,min_age_months,cautionary_statement,listed_on,sku"
)
D0 = date(2026, 1, 5)


def policy_data(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load(POLICY.read_text())
    changes.setdefault("triggers__random_audit__rate", 0)
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return data


def setup(store: Store, rows: list[str], **policy: Any) -> None:
    policy.setdefault("triggers__random_audit__rate", 0)  # no surprise audits unless tested
    policies.load_policy(store, policy_from_data(policy_data(**policy)), D0, "t")
    listings(store, rows)


def listings(store: Store, rows: list[str], on: date = D0) -> None:
    import_listings(store, parse_listings("\n".join([HEADER, *rows]) + "\n", "l.csv"), on, "t")


def row(lid: str, seller: str = "hoppy", cat: str = "toys_and_games", age: str = "36",
        listed: str = "2026-01-02", sku: str = "", model: str = "M-1") -> str:  # fmt: skip
    return f"{lid},{seller},{cat},Title {lid},Brand,{model},{age},,{listed},{sku}"


def run(store: Store, day: date, **kw: Any) -> dict[str, Any]:
    return sweep(store, day, "t", **kw).to_dict()


def reqs(store: Store, day: date, **kw: Any) -> list[dict[str, Any]]:
    with store.reader() as s:
        return views.requests(s, day, **kw)


def listing(store: Store, lid: str, day: date = D0) -> dict[str, Any]:
    with store.reader() as s:
        return views.listing_status(s, lid, day)


def health(store: Store, seller: str, day: date) -> dict[str, Any]:
    with store.reader() as s:
        return views.health(s, seller, day, marketplace=True)


def approve(store: Store, lid: str, on: date, valid_until: date) -> None:
    """What P9 approval leaves behind (program2 owns the command): the request closed, the
    listing active with its validity, a decision row."""
    L, R, D = table(pm.ProgramListing), table(pm.Request), table(pm.DecisionRow)
    with store.transaction() as s:
        pk, seller = s.execute(select(L.c.id, L.c.seller_org_id).where(L.c.listing_id == lid)).one()
        rid = s.scalar(select(R.c.id).where(R.c.listing_pk == pk, R.c.state == "open"))
        if rid is not None:
            s.execute(update(R).where(R.c.id == rid).values(state="approved", closed_on=on))
            s.execute(
                insert(D),
                [
                    {
                        "request_id": rid,
                        "seller_org_id": seller,
                        "decided_on": on,
                        "decision": "approve",
                        "reason_code": None,
                        "policy_version": 1,
                        "actor": "t",
                        "reasons": {},
                    }
                ],
            )
        s.execute(
            update(L)
            .where(L.c.id == pk)
            .values(state="active", valid_until=valid_until, last_approved_on=on)
        )


def snapshot(store: Store) -> dict[str, Any]:
    """Every program table's rows (without the append-only log and the run record)."""
    out: dict[str, Any] = {}
    with store.reader() as s:
        for model in (
            pm.ProgramListing,
            pm.Request,
            pm.RequestTrigger,
            pm.RequestHistory,
            pm.Finding,
            pm.ViolationRow,
            pm.ActionRow,
            pm.AccountRow,
            pm.Outbox,
        ):
            t = table(model)
            out[t.name] = sorted(map(repr, s.execute(select(t)).all()))
    return out


# --- P1 scope ------------------------------------------------------------------------------------


def test_p1_scope_by_category_and_age(store: Store) -> None:
    setup(
        store,
        [
            row("B0TOY00001", age="36"),
            row("B0TOY00002", age="168"),  # 14 and up: out of scope
            row("B0TOY00003", cat="garden"),  # not a program category
            row("B0TOY00004", age=""),  # no age: in scope, with a finding
            row("B0TOY00005", cat="baby_products", age="143"),
        ],
    )
    out = run(store, D0)
    assert sorted(o["listing_id"] for o in out["opened"]) == [
        "B0TOY00001",
        "B0TOY00004",
        "B0TOY00005",
    ]
    assert listing(store, "B0TOY00002")["state"] == "out_of_scope"
    assert listing(store, "B0TOY00003")["state"] == "out_of_scope"
    assert listing(store, "B0TOY00001")["state"] == "pending"  # pre_listing_review
    noage = reqs(store, D0, listing="B0TOY00004")[0]
    assert "age_grade_missing" in [f["code"] for f in noage["findings"]]


def test_p1_linked_product_decides_scope_and_p4_requirements(store: Store) -> None:
    ws = Workspace(store, "hoppy", who="t")
    ws.init()
    stacker = read_profile(ROOT / "examples" / "products" / "painted-wooden-stacker.yaml")
    figure = read_profile(ROOT / "examples" / "products" / "collectible-figure.yaml")
    ws.add_profiles([stacker, figure], D0)
    # The listing says 36 months for the 14+ figure: the linked product's assessment decides.
    setup(
        store,
        [
            row("B0TOY00001", sku=stacker.sku),
            row("B0TOY00002", sku=figure.sku, age="36"),
            row("B0TOY00003"),
        ],
    )
    run(store, D0)
    assert listing(store, "B0TOY00002")["state"] == "out_of_scope"
    linked = reqs(store, D0, listing="B0TOY00001")[0]
    assert linked["requirements_basis"] == "assessment"
    assert "16CFR1303" in linked["requirements"]  # lead in paint: the stacker is painted
    baseline = reqs(store, D0, listing="B0TOY00003")[0]
    assert baseline["requirements_basis"] == "baseline"
    assert baseline["requirements"] == policy_from_data(policy_data()).categories["toys"].baseline
    assert "product_not_linked" in [f["code"] for f in baseline["findings"]]


def test_a_listing_leaving_the_program_closes_its_request(store: Store) -> None:
    setup(store, [row("B0TOY00001")])
    run(store, D0)
    listings(store, [row("B0TOY00001", age="180")], D0 + timedelta(days=2))
    out = run(store, D0 + timedelta(days=2))
    assert out["closed"] == [
        {"request": "REQ-000001", "listing_id": "B0TOY00001", "state": "not_applicable"}
    ]
    assert reqs(store, D0)[0]["state"] == "not_applicable"


# --- P2 and P3 ----------------------------------------------------------------------------


def complaints(store: Store, lines: list[str], on: date) -> None:
    text = "complaint_id,listing_id,received_on,reporter,text\n" + "\n".join(lines) + "\n"
    import_complaints(store, parse_complaints(text, "c.csv"), on, "t")


def test_p2_a_new_trigger_joins_the_open_request(store: Store) -> None:
    setup(store, [row("B0TOY00001")])
    assert [o["triggers"] for o in run(store, D0)["opened"]] == [["new_listing"]]
    complaints(
        store,
        [f"C{i},B0TOY00001,2026-01-0{i + 5},r{i},It has a sharp edge" for i in range(3)],
        date(2026, 1, 8),
    )
    out = run(store, date(2026, 1, 8))
    assert out["opened"] == []
    assert out["updated"] == [
        {"request": "REQ-000001", "listing_id": "B0TOY00001", "added_triggers": ["complaint"]}
    ]
    (r,) = reqs(store, date(2026, 1, 8))
    assert [t["kind"] for t in r["triggers"]] == ["new_listing", "complaint"]


def test_p3_complaint_threshold_keywords_and_window(store: Store) -> None:
    setup(store, [row("B0TOY00001"), row("B0TOY00002"), row("B0TOY00003")])
    for lid in ("B0TOY00001", "B0TOY00002", "B0TOY00003"):
        approve(store, lid, D0, date(2027, 1, 5))
    complaints(
        store,
        [
            "A1,B0TOY00001,2026-02-01,x,My son CHOKED on a piece",
            "A2,B0TOY00001,2026-02-02,y,swallowed a bead",
            "A3,B0TOY00001,2026-02-03,z,Lead paint?",
            "B1,B0TOY00002,2026-02-01,x,choking",
            "B2,B0TOY00002,2026-02-02,y,love it",  # no keyword
            "B3,B0TOY00002,2026-02-03,z,great toy",
            "C1,B0TOY00003,2025-06-01,x,choke",  # outside the 90-day window
            "C2,B0TOY00003,2026-02-02,y,choke",
            "C3,B0TOY00003,2026-02-03,z,choke",
        ],
        date(2026, 2, 3),
    )
    out = run(store, date(2026, 2, 4))
    assert [(o["listing_id"], o["triggers"]) for o in out["opened"]] == [
        ("B0TOY00001", ["complaint"])
    ]
    # The same complaints never count twice, even after the request closes.
    approve(store, "B0TOY00001", date(2026, 2, 10), date(2027, 2, 10))
    assert run(store, date(2026, 2, 11))["opened"] == []


def test_p3_renewal_opens_within_the_notice(store: Store) -> None:
    setup(store, [row("B0TOY00001")])
    run(store, D0)
    approve(store, "B0TOY00001", date(2026, 1, 10), date(2027, 1, 10))
    assert run(store, date(2026, 12, 10))["opened"] == []  # 31 days before
    out = run(store, date(2026, 12, 11))  # renewal_notice_days: 30
    assert [o["triggers"] for o in out["opened"]] == [["renewal"]]
    assert run(store, date(2026, 12, 12))["opened"] == []


def test_p3_rule_change_uses_the_kb_effective_dates(store: Store) -> None:
    ws = Workspace(store, "hoppy", who="t")
    ws.init()
    stacker = read_profile(ROOT / "examples" / "products" / "painted-wooden-stacker.yaml")
    water = stacker.model_copy(
        update={"sku": "WB-1", "features": {"water_beads": {}}}
    )  # a toy with water beads: 16 CFR 1250.4 from 2026-03-12
    children, required, _, dates = facts_of(
        water, __import__("toysafe.io.kb").io.kb.default_kb(), D0
    )
    assert ("16CFR1250.4", date(2026, 3, 12)) in dates
    ws.add_profiles([water], D0)
    setup(store, [row("B0TOY00001", sku="WB-1", listed="2025-06-01")])
    first = run(store, date(2025, 11, 1))
    assert [o["triggers"] for o in first["opened"]] == [["new_listing"]]
    approve(store, "B0TOY00001", date(2025, 11, 5), date(2026, 11, 5))
    day = date(2026, 3, 12) - timedelta(days=90)  # notice_days: 90
    assert run(store, day - timedelta(days=1))["opened"] == []
    out = run(store, day)
    assert [(o["listing_id"], o["triggers"]) for o in out["opened"]] == [
        ("B0TOY00001", ["rule_change"])
    ]
    (r,) = reqs(store, day, state="open")
    assert r["triggers"][0]["ref"] == "16CFR1250.4@2026-03-12"


def test_p3_history_of_rejections(store: Store) -> None:
    setup(store, [row("B0TOY00001"), row("B0TOY00002"), row("B0TOY00003", seller="other")])
    run(store, D0)
    for lid in ("B0TOY00001", "B0TOY00002", "B0TOY00003"):
        approve(store, lid, D0, date(2027, 1, 5))
    D, R = table(pm.DecisionRow), table(pm.Request)
    with store.transaction() as s:
        rid, seller = s.execute(select(R.c.id, R.c.seller_org_id).limit(1)).one()
        for day in (date(2026, 2, 1), date(2026, 2, 2)):
            s.execute(
                insert(D),
                [
                    {
                        "request_id": rid,
                        "seller_org_id": seller,
                        "decided_on": day,
                        "decision": "reject",
                        "reason_code": "failed_test",
                        "policy_version": 1,
                        "actor": "t",
                        "reasons": {},
                    }
                ],
            )
    out = run(store, date(2026, 2, 3))
    assert sorted((o["listing_id"], tuple(o["triggers"])) for o in out["opened"]) == [
        ("B0TOY00001", ("history",)),
        ("B0TOY00002", ("history",)),
    ]


def test_p3_random_audit_is_the_contract_sample(store: Store) -> None:
    ids = [f"B0AUD{i:05d}" for i in range(60)]
    setup(store, [row(i) for i in ids], triggers__random_audit__rate=0.3)
    run(store, D0)
    for i in ids:
        approve(store, i, D0, date(2027, 6, 1))
    day = date(2026, 4, 2)
    out = run(store, day)
    chosen = sorted(o["listing_id"] for o in out["opened"])
    assert chosen == sorted(i for i in ids if audit_draw(1, i, "2026Q2") < 0.3)
    assert 0 < len(chosen) < 60
    assert run(store, date(2026, 4, 3))["opened"] == []  # once per period


def test_exemption_outranks_an_automatic_trigger(store: Store) -> None:
    setup(store, [row("B0TOY00001")])
    L = table(pm.ProgramListing)
    with store.transaction() as s:
        pk = s.scalar(select(L.c.id))
        s.execute(
            insert(table(pm.Exemption)),
            [
                {
                    "listing_pk": pk,
                    "trigger_kind": "new_listing",
                    "starts": D0,
                    "until": date(2027, 1, 1),
                    "appeal_id": None,
                    "reason": "appeal overturned",
                    "actor": "t",
                }
            ],
        )
    assert run(store, D0)["opened"] == []


# --- P5, P6 -------------------------------------------------------------------------------


def test_p5_due_and_reminders(store: Store) -> None:
    setup(store, [row("B0TOY00001")])
    run(store, D0)
    (r,) = reqs(store, D0)
    assert (r["opened"], r["due"]) == ("2026-01-05", "2026-01-19")
    assert run(store, date(2026, 1, 11))["reminded"] == []
    assert run(store, date(2026, 1, 12))["reminded"] == [
        {"request": "REQ-000001", "due": "2026-01-19"}
    ]
    assert run(store, date(2026, 1, 12))["reminded"] == []
    assert run(store, date(2026, 1, 18))["reminded"] == [
        {"request": "REQ-000001", "due": "2026-01-19"}
    ]
    events = [h["event"] for h in reqs(store, date(2026, 1, 18))[0]["history"]]
    assert events == ["opened", "reminded", "reminded"]
    with store.reader() as s:
        kinds = s.scalars(select(table(pm.Outbox).c.kind).order_by(table(pm.Outbox).c.id)).all()
    assert kinds == ["request_opened", "reminder", "reminder"]


def test_p6_ladder_and_one_violation_per_overdue_request(store: Store) -> None:
    setup(store, [row("B0TOY00001")])
    run(store, D0)
    assert run(store, date(2026, 1, 19))["actions"] == []  # due today: not late yet
    assert reqs(store, date(2026, 1, 19))[0].get("overdue") is None
    out = run(store, date(2026, 1, 20))
    (a,) = out["actions"]
    assert (a["action"], a["reasons"]["rule"], a["request"]) == (
        "suppressed",
        "ladder[0]",
        "REQ-000001",
    )
    assert a["reasons"]["appeal"]["until"] == "2026-07-19"
    assert listing(store, "B0TOY00001")["state"] == "suppressed"
    assert reqs(store, date(2026, 1, 20))[0]["overdue"] is True
    assert run(store, date(2026, 2, 17))["actions"] == []  # 29 days late
    out = run(store, date(2026, 2, 18))  # 30 days late
    assert [a["action"] for a in out["actions"]] == ["removed"]
    assert listing(store, "B0TOY00001")["state"] == "removed"
    h = health(store, "hoppy", date(2026, 2, 18))
    assert [(v["kind"], v["severity"]) for v in h["violations"]] == [
        ("missing_documents", "medium")
    ]
    assert h["score"] == 900


def test_p6_catching_up_applies_every_step_passed(store: Store) -> None:
    setup(store, [row("B0TOY00001")])
    run(store, D0)
    out = run(store, date(2026, 3, 30))
    assert [a["action"] for a in out["actions"]] == ["suppressed", "removed"]


# --- P10, P12 -----------------------------------------------------------------------------


def add_violation(
    store: Store, seller: str, severity: str, opened: date, resolved: date | None = None
) -> None:
    org = table(m.Organization)
    with store.transaction() as s:
        sid = s.scalar(select(org.c.id).where(org.c.slug == seller))
        s.execute(
            insert(table(pm.ViolationRow)),
            [
                {
                    "seller_org_id": sid,
                    "listing_pk": None,
                    "request_id": None,
                    "kind": "failed_test",
                    "severity": severity,
                    "opened": opened,
                    "resolved": resolved,
                    "resolution": None,
                    "policy_version": 1,
                }
            ],
        )


def test_p10_score_is_the_formula_and_bands(store: Store) -> None:
    setup(store, [row("B0TOY00001")])
    run(store, D0)
    day = date(2026, 3, 1)
    add_violation(store, "hoppy", "high", date(2026, 2, 1))
    add_violation(store, "hoppy", "high", date(2026, 2, 2))
    add_violation(store, "hoppy", "high", date(2026, 2, 3))
    add_violation(store, "hoppy", "low", date(2026, 2, 3), resolved=date(2026, 2, 20))
    add_violation(store, "hoppy", "high", date(2025, 6, 1))  # outside the 180-day window
    out = run(store, day)
    # 1000 - 3 x 300 - (missing_documents 100 from the overdue request) = 0
    assert out["accounts"] == [
        {"seller": "hoppy", "score": 0, "band": "deactivation_eligible", "state": "active"}
    ]
    assert health(store, "hoppy", day)["score"] == 0
    assert health(store, "hoppy", date(2026, 2, 1))["score"] == 700
    assert health(store, "hoppy", date(2026, 2, 1))["band"] == "healthy"


def test_p10_critical_suspends_and_suppresses_every_listing(store: Store) -> None:
    setup(store, [row("B0TOY00001"), row("B0TOY00002"), row("B0TOY00003", seller="other")])
    run(store, D0)
    approve(store, "B0TOY00001", D0, date(2027, 1, 5))
    add_violation(store, "hoppy", "critical", date(2026, 1, 6))
    out = run(store, date(2026, 1, 6))
    acts = sorted((a.get("listing_id") or a.get("seller"), a["action"]) for a in out["actions"])
    assert acts == [
        ("B0TOY00001", "suppressed"),
        ("B0TOY00002", "suppressed"),
        ("hoppy", "suspended"),
    ]
    assert all(a["reasons"]["rule"] == "account_health.suspend_on_critical" for a in out["actions"])
    assert health(store, "hoppy", date(2026, 1, 6))["state"] == "suspended"
    assert listing(store, "B0TOY00003")["state"] == "pending"
    assert run(store, date(2026, 1, 6))["actions"] == []


def test_p12_trusted_tier_response_days_and_never_in_seller_view(store: Store) -> None:
    ids = [f"B0TRU{i:05d}" for i in range(3)]
    setup(
        store,
        [row(i, listed="2023-01-01") for i in ids] + [row("B0NEW00001", seller="newbie")],
        trusted__min_approved=2,
        trusted__min_account_age_days=730,
    )
    run(store, D0)
    for i in ids:
        approve(store, i, D0, date(2027, 1, 5))
    listings(store, [row("B0TRU00099", listed="2026-01-20")], date(2026, 1, 20))
    listings(store, [row("B0NEW00002", seller="newbie", listed="2026-01-20")], date(2026, 1, 20))
    run(store, date(2026, 1, 20))
    trusted = reqs(store, date(2026, 1, 20), listing="B0TRU00099")[0]
    assert trusted["due"] == "2026-02-19"  # trusted.response_days: 30
    other = reqs(store, date(2026, 1, 20), listing="B0NEW00002")[0]
    assert other["due"] == "2026-02-03"
    assert health(store, "hoppy", date(2026, 1, 20))["trusted"] is True
    assert health(store, "newbie", date(2026, 1, 20))["trusted"] is False
    with store.reader() as s:
        seller_view = views.health(s, "hoppy", date(2026, 1, 20))
    assert "trusted" not in seller_view
    assert "trusted" not in trusted


# --- P13, P14, dry run --------------------------------------------------------------------


def test_p14_a_second_run_for_the_same_date_changes_nothing(store: Store) -> None:
    setup(store, [row(f"B0IDM{i:05d}", age=str(i * 20)) for i in range(10)])
    complaints(store, [f"X{i},B0IDM00001,2026-01-0{i + 1},r,choke" for i in range(4)], D0)
    for day in (D0, date(2026, 1, 12), date(2026, 1, 25), date(2026, 3, 1)):
        run(store, day)
        before = snapshot(store)
        again = run(store, day)
        assert snapshot(store) == before
        assert again["opened"] == again["updated"] == again["actions"] == again["reminded"] == []


def test_dry_run_with_a_candidate_policy_stores_nothing(store: Store) -> None:
    setup(store, [row("B0TOY00001"), row("B0TOY00002", cat="garden")])
    before = snapshot(store)
    data = policy_data()
    data["categories"]["toys"]["listing_categories"].append("garden")
    out = run(store, D0, candidate=policy_from_data(data), dry_run=True)
    assert out["dry_run"] is True and out["policy_version"] == 2
    assert len(out["opened"]) == 2
    assert snapshot(store) == before
    with store.reader() as s:
        assert s.scalar(select(func.count()).select_from(table(pm.PolicyVersion))) == 1


def test_policy_versions_are_content_addressed(store: Store) -> None:
    p = policy_from_data(policy_data())
    assert policies.load_policy(store, p, D0, "t").version == 1
    assert policies.load_policy(store, p, D0, "t").created is False
    q = policy_from_data(policy_data(clocks__response_days=21))
    assert policies.load_policy(store, q, D0, "t").version == 2
    setup_rows = [row("B0TOY00001")]
    listings(store, setup_rows)
    run(store, D0)
    (r,) = reqs(store, D0)
    assert r["policy_version"] == 2 and r["due"] == "2026-01-26"


def test_reimport_updates_attributes_keeps_history_never_deletes(store: Store) -> None:
    setup(store, [row("B0TOY00001"), row("B0TOY00002")])
    listings(store, [row("B0TOY00001", model="M-2")], date(2026, 1, 9))
    with store.reader() as s:
        H = table(pm.ListingChange)
        (change,) = s.execute(select(H.c.changes, H.c.changed_on)).all()
        n = s.scalar(select(func.count()).select_from(table(pm.ProgramListing)))
    assert change.changes == {"model": ["M-1", "M-2"]}
    assert change.changed_on == date(2026, 1, 9)
    assert n == 2


def test_complaints_seen_before_are_skipped(store: Store) -> None:
    setup(store, [row("B0TOY00001")])
    complaints(store, ["A1,B0TOY00001,2026-01-02,x,choke"], D0)
    text = "complaint_id,listing_id,received_on,reporter,text\nA1,B0TOY00001,2026-01-02,x,other\n"
    result = import_complaints(store, parse_complaints(text, "c.csv"), D0, "t")
    assert (result.added, result.unchanged) == (0, 1)


def test_every_action_carries_complete_reasons(store: Store) -> None:
    setup(store, [row("B0TOY00001"), row("B0TOY00002")])
    run(store, D0)
    add_violation(store, "hoppy", "critical", date(2026, 2, 25))
    out = run(store, date(2026, 3, 1))
    assert out["actions"]
    for a in out["actions"]:
        r = a["reasons"]
        assert set(r) == {"decision", "rule", "facts", "policy_version", "next_step", "appeal"}
        assert r["facts"] and r["decision"] and r["next_step"] and r["rule"]
        assert set(r["appeal"]) == {"how", "until"} and r["policy_version"] == 1
    doc = listing(store, "B0TOY00001", date(2026, 3, 1))
    assert all(x["reasons"]["rule"] for x in doc["actions"])


def test_copy_of_policy_is_not_mutated() -> None:
    a = policy_data()
    b = copy.deepcopy(a)
    policy_from_data(a)
    assert a == b

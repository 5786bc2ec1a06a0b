"""The compiled sweep (``--engine duckdb|spark``) against the SQL path: a differential test.

A seeded generator builds varied workspaces (listings in and out of scope, linked products,
open and overdue requests, complaints around the threshold and the window's edges, renewals at
the notice boundary, trusted sellers, random audits, exemptions, critical violations that
suspend and resolve, linked products listed the day before, on and after a rule or edition takes
effect and a rule that takes effect on the last day of the notice: the rule-change trigger, whose
facts come from bulk assessment under the rules of two dates). Two identical copies are swept
day by day, one by each path; after every day the sweep@1 documents and every program table
(ids included) must be identical, and a second run of the same day must change nothing. On
SQLite and PostgreSQL; Spark in tests/test_sweep_spark.py. Each run counts the triggers that
fired, so a test asserts that the rule-change trigger is covered rather than silently left out.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from tests.store_fixtures import BACKENDS, DB, pg_enabled
from tests.test_program_sweep import HEADER, policy_data
from toysafe.bulk import sweep as bulk_sweep
from toysafe.core.program.policy import Policy
from toysafe.io.profiles import read_profile
from toysafe.io.program import parse_complaints, parse_listings, policy_from_data
from toysafe.store import models as m
from toysafe.store.db import Store, migrate
from toysafe.store.program import models as pm
from toysafe.store.program import policies
from toysafe.store.program.feeds import import_complaints, import_listings, table
from toysafe.store.program.sweep import sweep
from toysafe.store.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
D0 = date(2026, 3, 2)
PRODUCTS = ("painted-wooden-stacker", "collectible-figure", "magnetic-tiles", "infant-rattle")
CATEGORIES = ("toys_and_games", "toys_and_games", "baby_products", "electronics")
AGES = ("", "36", "143", "144", "145", "12", "200")
#: The rule-change trigger's dates (P3): the F963-23 edition and, for a toy with water beads,
#: 16 CFR 1250.4 (the knowledge base's dated parameters: ``facts_of`` finds them).
EDITION = date(2024, 4, 20)
WATER_RULE = date(2026, 3, 12)
WORDS = ("it is a choking hazard", "The MAGNET came off", "nice toy", "sharp edge!", "love it")
TABLES = (
    pm.ProgramListing,
    pm.Request,
    pm.RequestTrigger,
    pm.RequestHistory,
    pm.Finding,
    pm.ViolationRow,
    pm.ActionRow,
    pm.AccountRow,
    pm.Outbox,
    pm.ProductFacts,
    pm.ProductRuleDate,
)


def tables(store: Store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with store.reader() as s:
        for model in TABLES:
            t = table(model)
            out[t.name] = sorted(map(repr, s.execute(select(t)).all()))
    return out


def seed(store: Store, rnd: random.Random, n: int, spec: dict[str, Any]) -> None:
    """A workspace drawn from ``rnd`` (the same seed builds the same workspace)."""
    ws = Workspace(store, "s0", who="t")
    ws.init()
    profiles = [read_profile(ROOT / "examples" / "products" / f"{p}.yaml") for p in PRODUCTS]
    water = profiles[0].model_copy(update={"sku": "WB-1", "features": {"water_beads": {}}})
    ws.add_profiles([*profiles, water], D0 - timedelta(days=400))
    data = policy_data(**spec)
    policies.load_policy(store, policy_from_data(data), D0 - timedelta(days=400), "t")
    sellers = ["s0", "s1", "s2", "s3"]
    rows, toyish = [], []
    for i in range(n):
        seller = rnd.choice(sellers)
        sku = rnd.choice(profiles).sku if seller == "s0" and rnd.random() < 0.5 else ""
        listed = D0 - timedelta(days=rnd.choice([800, 400, 60, 10, 1, 0]) + rnd.randint(0, 3))
        if rnd.random() < 0.08:
            listed = D0 + timedelta(days=rnd.choice([1, 5]))  # listed later than the first day
        cat, age = rnd.choice(CATEGORIES), rnd.choice(AGES)
        if cat != "electronics" and age not in ("144", "145", "200"):
            toyish.append(i)
        rows.append(
            f"B0X{i:07d},{seller},{cat},Title {i},Brand,M-{i % 5},{age},,{listed.isoformat()},{sku}"
        )
    # Linked children's products listed the day before, on and after a rule takes effect (the
    # rule-change trigger fires for a rule in force since the listing or its last approval), or
    # well before the water-bead rule (it fires when the rule enters the notice window).
    # Drawn from a generator of their own (seeded from ``rnd``'s state, which it leaves as it
    # is), so the rest of the workspace is the one the seed drew before these listings existed.
    rr = random.Random(str(rnd.getstate()[1][:8]))
    kids = [p.sku for p, nm in zip(profiles, PRODUCTS, strict=True) if nm != "collectible-figure"]
    children = kids + [water.sku] * len(kids)
    for j in range(rr.choice([4, 5, 6])):
        sku = water.sku if j == 0 else rr.choice(children)
        eff = WATER_RULE if sku == water.sku else EDITION
        listed = eff + timedelta(days=rr.choice([-1, 0, 1]))
        if j == 0 or (sku == water.sku and rr.random() < 0.5):
            listed = D0 - timedelta(days=rr.choice([1, 30]))
        rows.append(f"B0R{j:07d},s0,toys_and_games,R {j},Brand,M-R,36,,{listed.isoformat()},{sku}")
    import_listings(store, parse_listings("\n".join([HEADER, *rows]) + "\n", "l.csv"), D0, "t")
    L, D, V, E = (
        table(pm.ProgramListing),
        table(pm.DecisionRow),
        table(pm.ViolationRow),
        table(pm.Exemption),
    )
    org = table(m.Organization)
    with store.transaction() as s:
        ids = dict(s.execute(select(org.c.slug, org.c.id)).all())
        got = s.execute(select(L.c.id, L.c.seller_org_id, L.c.listing_id).order_by(L.c.id)).all()
        pks = [(pk, o) for pk, o, lid in got if lid.startswith("B0X")]
        rule_pks = [pk for pk, _, lid in got if lid.startswith("B0R")]
        # Approved earlier: validity ending around the renewal notice (30 days) and overdue.
        for pk, draw in [(pk, rnd) for pk, _ in pks] + [(pk, rr) for pk in rule_pks]:
            if draw.random() < 0.35:
                until = D0 + timedelta(days=draw.choice([-1, 0, 1, 29, 30, 31, 45, 200]))
                s.execute(
                    update(L)
                    .where(L.c.id == pk)
                    .values(
                        state="active",
                        in_scope=True,
                        program_category="toys",
                        valid_until=until,
                        last_approved_on=until - timedelta(days=365),
                    )
                )
        # Approvals (the trusted tier) and rejections (the history trigger), on closed requests.
        R = table(pm.Request)
        old = {}
        for seller in ("s1", "s2"):
            got = s.execute(
                insert(R).returning(R.c.id),
                [
                    {
                        "listing_pk": pks[0][0],
                        "seller_org_id": ids[seller],
                        "category": "toys",
                        "state": "approved",
                        "opened": D0 - timedelta(days=500),
                        "due": D0 - timedelta(days=486),
                        "policy_version": 1,
                        "requirements": [],
                        "requirements_basis": "baseline",
                        "extended_days": 0,
                        "trusted": False,
                        "closed_on": D0 - timedelta(days=490),
                    }
                ],
            )
            old[seller] = got.scalar_one()
        decisions = []
        for seller, count in (("s1", 3), ("s2", 1)):
            decisions += [
                {
                    "request_id": old[seller],
                    "seller_org_id": ids[seller],
                    "decided_on": D0 - timedelta(days=100 + k),
                    "decision": "approve",
                    "reason_code": None,
                    "policy_version": 1,
                    "actor": "t",
                    "reasons": {},
                }
                for k in range(count)
            ]
        for _k in range(rnd.choice([2, 3])):
            decisions.append(
                {
                    "request_id": old["s2"],
                    "seller_org_id": ids["s2"],
                    "decided_on": D0 - timedelta(days=rnd.choice([0, 1, 364, 365, 366])),
                    "decision": "reject",
                    "reason_code": "failed_test",
                    "policy_version": 1,
                    "actor": "t",
                    "reasons": {},
                }
            )
        s.execute(insert(D), decisions)
        # A critical violation that suspends s3 (resolved later in the run: the lift).
        s.execute(
            insert(V),
            [
                {
                    "seller_org_id": ids["s3"],
                    "listing_pk": None,
                    "request_id": None,
                    "kind": "failed_test",
                    "severity": sev,
                    "opened": D0 - timedelta(days=days),
                    "resolved": D0 + timedelta(days=9) if sev == "critical" else None,
                    "resolution": None,
                    "policy_version": 1,
                }
                for sev, days in (("critical", 2), ("high", 179), ("low", 180), ("medium", 181))
            ],
        )
        # Exemptions from a trigger kind (P11) for a few listings.
        ex = [
            {
                "listing_pk": pk,
                "trigger_kind": rnd.choice(["new_listing", "complaint", "random_audit", "renewal"]),
                "starts": D0 - timedelta(days=10),
                "until": D0 + timedelta(days=rnd.choice([-1, 0, 8])),
                "appeal_id": None,
                "reason": "overturned",
                "actor": "t",
            }
            for pk, _ in pks
            if rnd.random() < 0.1
        ]
        if ex:
            s.execute(insert(E), ex)
    complaints = ["complaint_id,listing_id,received_on,reporter,text"]
    for i in toyish:
        if rnd.random() < 0.4:
            for k in range(rnd.choice([2, 3, 3, 4])):
                on = D0 - timedelta(days=rnd.choice([0, 1, 5, 30, 89, 90, 91]) - rnd.choice([0, 8]))
                text = rnd.choice(WORDS[:2]) if rnd.random() < 0.7 else rnd.choice(WORDS)
                complaints.append(f"C{i}-{k},B0X{i:07d},{on.isoformat()},r,{text}")
    import_complaints(store, parse_complaints("\n".join(complaints) + "\n", "c.csv"), D0, "t")


SPEC: dict[str, Any] = {
    "triggers__random_audit__rate": 0.3,
    "trusted__min_account_age_days": 400,
    "trusted__min_approved": 2,
    "trusted__random_audit_rate": 0.6,
    "trusted__response_days": 20,
    "clocks__response_days": 7,
    # 16 CFR 1250.4 (2026-03-12) enters the window on D0 + 8, the last day of the notice.
    "triggers__rule_change__notice_days": 2,
}
DAYS = [D0 + timedelta(days=k) for k in (0, 6, 8, 40)]
AGAIN = {D0, D0 + timedelta(days=8)}  # the days run twice (P14)


def make_pair(backend: str, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two fresh databases on ``backend``: one swept by each path."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = DB(backend, tmp_path / "a"), DB(backend, tmp_path / "b")
    try:
        migrate(a.engine)
        migrate(b.engine)
        yield a.store(), b.store()
    finally:
        a.drop()
        b.drop()


@pytest.fixture(params=BACKENDS)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two fresh databases on one backend: one swept by each path."""
    if request.param == "postgresql" and not pg_enabled():
        pytest.skip("TOYSAFE_TEST_POSTGRES=0")
    yield from make_pair(request.param, tmp_path)


@pytest.fixture
def sqlite_pair(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two SQLite databases: where one backend is enough (the mutation checks)."""
    yield from make_pair("sqlite", tmp_path)


def differential(
    pair: tuple[Store, Store],
    seed_no: int,
    n: int,
    spec: dict[str, Any],
    engine: str = "duckdb",
    days: list[date] = DAYS,
    spark_session: Any = None,
) -> Counter[str]:
    """Sweep both copies over ``days``; return how many decisions the run made in all
    (``decisions``) and how many triggers of each kind fired (``kind:rule_change``...)."""
    ref, got = pair
    seed(ref, random.Random(seed_no), n, spec)
    seed(got, random.Random(seed_no), n, spec)
    assert tables(ref) == tables(got)
    made: Counter[str] = Counter()
    for day in days:
        want = sweep(ref, day, "t").to_dict()
        have = sweep(got, day, "t", engine=engine, spark_session=spark_session).to_dict()
        assert have == want, f"{day}: the sweep@1 documents differ"
        assert tables(got) == tables(ref), f"{day}: the tables differ"
        made["decisions"] += sum(
            len(want[k]) for k in ("opened", "updated", "reminded", "actions", "accounts", "closed")
        )
        if day not in AGAIN:
            continue
        before = tables(got)
        again = sweep(got, day, "t", engine=engine, spark_session=spark_session).to_dict()
        assert tables(got) == before, f"{day}: a second run changed the tables"
        assert not any(again[k] for k in ("opened", "updated", "reminded", "actions", "closed"))
    T = table(pm.RequestTrigger)
    with got.reader() as s:
        made.update(f"kind:{k}" for k in s.scalars(select(T.c.kind)))
    return made


@pytest.mark.parametrize("seed_no", [1, 2])
def test_compiled_sweep_equals_the_sql_path(pair: tuple[Store, Store], seed_no: int) -> None:
    made = differential(pair, seed_no, 40, SPEC)
    assert made["decisions"] > 40  # the scenario exercises the rules, not an empty day
    assert made["kind:rule_change"] >= 1, made  # P3 rule_change fired: covered, not silently lost


def test_compiled_sweep_with_other_policy_choices(pair: tuple[Store, Store]) -> None:
    spec = {
        **SPEC,
        "triggers__complaints__threshold": 2,
        "triggers__complaints__window_days": 5,
        "clocks__reminder_days_before_due": [10, 3, 1],
        "clocks__response_days": 14,
        "account_health__window_days": 30,
        "ladder": [
            {"days_overdue": 0, "listing": "suppressed"},
            {"days_overdue": 2, "listing": "removed"},
        ],
    }
    spec["triggers__rule_change__notice_days"] = 90  # 1250.4 is in the window from D0
    made = differential(
        pair, 7, 30, spec, days=[D0, D0 + timedelta(days=9), D0 + timedelta(days=16)]
    )
    assert made["kind:rule_change"] >= 1, made


def _perturbed(change: Callable[[dict[str, Any]], None]) -> Callable[..., None]:
    original = bulk_sweep.Plan.__init__

    def init(self: bulk_sweep.Plan, frames: Any, policy: Policy, *args: Any) -> None:
        data = policy.model_dump()
        change(data)
        original(self, frames, Policy.model_validate(data), *args)

    return init


def _threshold(p: dict[str, Any]) -> None:
    p["triggers"]["complaints"]["threshold"] -= 1


def _notice(p: dict[str, Any]) -> None:
    p["categories"]["toys"]["renewal_notice_days"] -= 1


def _ladder(p: dict[str, Any]) -> None:
    p["ladder"][1]["days_overdue"] += 1


@pytest.mark.parametrize("change", [_threshold, _notice, _ladder], ids=lambda f: f.__name__)
def test_mutation_a_perturbed_threshold_in_the_plan_goes_red(
    sqlite_pair: tuple[Store, Store],
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[dict[str, Any]], None],
) -> None:
    """The oracle has teeth: one threshold moved by one in the compiled plan only."""
    monkeypatch.setattr(bulk_sweep.Plan, "__init__", _perturbed(change))
    # The plan's SQL is cached by policy: compile the perturbed plan afresh, and keep it.
    monkeypatch.setattr(bulk_sweep, "_PLANS", {})
    monkeypatch.setenv("TOYSAFE_CACHE_DIR", "off")
    days = [D0 + timedelta(days=k) for k in (0, 8, 37, 38)]
    with pytest.raises(AssertionError, match="differ"):
        differential(sqlite_pair, 1, 60, SPEC, days=days)


def _rule_notice(p: dict[str, Any]) -> None:
    p["triggers"]["rule_change"]["notice_days"] -= 1


def test_mutation_the_rule_change_window_in_the_plan_goes_red(
    sqlite_pair: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule-change stage's notice moved by one day in the compiled plan only: 16 CFR 1250.4
    enters the window one day later than the SQL path says (D0 + 8, the notice's last day)."""
    monkeypatch.setattr(bulk_sweep.Plan, "__init__", _perturbed(_rule_notice))
    monkeypatch.setattr(bulk_sweep, "_PLANS", {})
    monkeypatch.setenv("TOYSAFE_CACHE_DIR", "off")
    with pytest.raises(AssertionError, match="differ"):
        differential(sqlite_pair, 3, 20, SPEC, days=[D0, D0 + timedelta(days=8)])


def test_mutation_rule_dates_under_one_date_only_go_red(
    sqlite_pair: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled path's product facts assessed under the rules of the sweep's date only (the
    second date, the last on which a rule takes effect, dropped): the rule dates to come are
    lost and the rule-change trigger does not fire."""
    from toysafe.bulk import facts as bulk_facts

    monkeypatch.setattr(bulk_facts, "horizon", lambda kb: date.min)
    with pytest.raises(AssertionError, match="differ"):
        differential(sqlite_pair, 3, 20, SPEC, days=[D0, D0 + timedelta(days=8)])


def test_cli_sweep_engine_duckdb_prints_the_same_document(ws_env: DB) -> None:
    """``toysafe program sweep --engine duckdb`` on the example feeds: the sweep@1 of the SQL
    path, run on a copy of the same workspace state (a dry run of the SQL path first)."""
    import json

    from typer.testing import CliRunner

    from toysafe.cli.app import app

    runner = CliRunner()

    def cli(*args: str) -> Any:
        got = runner.invoke(app, list(args))
        assert got.exit_code == 0, got.output
        return got

    migrate(ws_env.engine)
    ex = ROOT / "examples" / "program"
    cli("program", "policy", "load", str(ex / "policy.yaml"), "--as-of", "2026-11-02")
    cli("program", "listings", "import", str(ex / "listings.csv"), "--as-of", "2026-11-02")
    args = ("program", "sweep", "--as-of", "2026-11-02", "--format", "json")
    want = json.loads(cli(*args, "--dry-run").output)
    have = json.loads(cli(*args, "--engine", "duckdb").output)
    want.pop("dry_run")
    # PostgreSQL's sequences do not roll back with the dry run: the real run numbers its new
    # requests after those; map them back before comparing.
    text = json.dumps(have)
    for w, h in zip(want["opened"], have["opened"], strict=True):
        text = text.replace(h["request"], w["request"].replace("REQ-", "REQ#"))
    assert json.loads(text.replace("REQ#", "REQ-")) == want
    assert any(have[k] for k in ("opened", "updated", "actions", "accounts"))
    bad = runner.invoke(app, [*args, "--spark-master", "local[1]"])
    assert bad.exit_code != 0 and "--spark-master" in bad.output


def _aliases(sql: str) -> str:
    """``sql`` with its table aliases numbered in order of appearance (ibis numbers them by
    the expression's nodes, literals included)."""
    names: dict[str, str] = {}
    return re.sub(r'"t\d+"', lambda m: names.setdefault(m[0], f'"a{len(names)}"'), sql)


def test_plan_sql_is_compiled_once_and_moved_to_each_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan's SQL, compiled for the sentinel day and cached on disk, is the SQL compiled
    for the real day once its dates and audit period are moved (what the cache relies on)."""
    monkeypatch.setenv("TOYSAFE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(bulk_sweep, "_PLANS", {})
    pol = policy_from_data(policy_data(triggers__random_audit__rate=0.02))
    cached = bulk_sweep.compile_plan(pol, 3)
    assert len(list((tmp_path / "sweep-sql").glob("*.json"))) == 1
    monkeypatch.setattr(bulk_sweep, "_PLANS", {})
    assert bulk_sweep.compile_plan(pol, 3) == cached  # read back from disk
    for day in (date(2026, 3, 31), date(2028, 2, 29), date(2026, 12, 31)):
        period = bulk_sweep.period_of(day, "quarter")
        direct: list[bulk_sweep.Stage] = []

        def keep(name: str, expr: Any, output: bool, out: list[Any] = direct) -> Any:
            out.append(bulk_sweep.ibis.to_sql(expr, dialect="duckdb", pretty=False))
            return bulk_sweep.ibis.table(expr.schema(), name=name)

        t = {
            n: bulk_sweep.ibis.table(
                bulk_sweep.ibis.Schema.from_pyarrow(bulk_sweep.schema_of(n)), name=f"snap_{n}"
            )
            for n in bulk_sweep.SNAPSHOT
        }
        bulk_sweep.stages(bulk_sweep.Plan(None, pol, 3, day), t, keep)
        moved = [bulk_sweep.sql_for_day(st.sql, day, period) for st in cached]
        assert [_aliases(s) for s in moved] == [_aliases(str(s)) for s in direct]
        assert not any("MAKE_DATE(15" in s or bulk_sweep.PERIOD in s for s in moved)
    # A different policy or version is a different plan.
    assert bulk_sweep.plan_key(pol, 3) != bulk_sweep.plan_key(pol, 4)

"""Invariants of the program that hold for any feed and any sequence of dates (hypothesis), on
SQLite and PostgreSQL: never two open requests for one listing; a sweep run twice changes
nothing; no request for an out-of-scope listing; the score equals the formula; every action
carries a complete statement of reasons."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from tests.test_program_sweep import approve, complaints, listings, run, setup, snapshot
from toysafe.core.program.model import OPEN_STATES, Reasons
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program import views
from toysafe.store.program.feeds import table

START = date(2026, 1, 1)
CATEGORIES = ["toys_and_games", "baby_products", "garden"]
WORDS = ["it made my kid choke", "fine toy", "battery got hot", "SHARP edge", "love it"]

listing_st = st.fixed_dictionaries(
    {
        "age": st.one_of(st.none(), st.integers(0, 200)),
        "category": st.sampled_from(CATEGORIES),
        "listed": st.integers(0, 40),
        "seller": st.sampled_from(["hoppy", "kiddo", "tots"]),
    }
)
complaint_st = st.tuples(st.integers(0, 7), st.integers(0, 120), st.sampled_from(WORDS))
days_st = st.lists(st.integers(0, 200), min_size=1, max_size=5).map(sorted)


def reset(store: Store) -> None:
    with store.transaction() as s:
        for t in reversed(m.Base.metadata.sorted_tables):
            if t.name != "alembic_version":
                s.execute(delete(t))


def check(store: Store, day: date, in_scope: dict[str, bool]) -> None:
    L, R, A, V = (
        table(pm.ProgramListing),
        table(pm.Request),
        table(pm.ActionRow),
        table(pm.ViolationRow),
    )
    with store.reader() as s:
        doubles = s.execute(
            select(R.c.listing_pk)
            .where(R.c.state.in_(OPEN_STATES))
            .group_by(R.c.listing_pk)
            .having(func.count() > 1)
        ).all()
        assert doubles == []
        with_requests = set(
            s.scalars(select(L.c.listing_id).join(R, R.c.listing_pk == L.c.id)).all()
        )
        assert not {lid for lid, ok in in_scope.items() if not ok} & with_requests
        for reasons in s.scalars(select(A.c.reasons)):
            Reasons.model_validate(reasons)
        for slug in s.scalars(
            select(m.Organization.slug).where(m.Organization.id.in_(select(L.c.seller_org_id)))
        ):
            sid = views.seller_id(s, slug)
            points = {"critical": 1000, "high": 300, "medium": 100, "low": 25}
            rows = s.execute(
                select(V.c.severity, V.c.opened, V.c.resolved).where(V.c.seller_org_id == sid)
            ).all()
            expected = max(
                0,
                1000
                - sum(
                    points[sev]
                    for sev, opened, resolved in rows
                    if opened <= day
                    and opened > day - timedelta(days=180)
                    and (resolved is None or resolved > day)
                ),
            )
            assert views.health(s, slug, day)["score"] == expected


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    feed=st.lists(listing_st, min_size=1, max_size=8),
    said=st.lists(complaint_st, max_size=12),
    days=days_st,
    approvals=st.sets(st.integers(0, 7), max_size=4),
    rate=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_program_invariants(
    store: Store,
    feed: list[dict[str, Any]],
    said: list[tuple[int, int, str]],
    days: list[int],
    approvals: set[int],
    rate: float,
) -> None:
    reset(store)
    ids = [f"B0PRP{i:05d}" for i in range(len(feed))]
    rows = [
        f"{lid},{x['seller']},{x['category']},T,B,M,{'' if x['age'] is None else x['age']},,"
        f"{(START + timedelta(days=x['listed'])).isoformat()},"
        for lid, x in zip(ids, feed, strict=True)
    ]
    in_scope = {
        lid: x["category"] != "garden" and (x["age"] is None or x["age"] < 144)
        for lid, x in zip(ids, feed, strict=True)
    }
    setup(store, rows[:0], triggers__random_audit__rate=rate)
    listings(store, rows, START)
    lines = [
        f"C{n},{ids[i % len(ids)]},{(START + timedelta(days=d)).isoformat()},r,{w}"
        for n, (i, d, w) in enumerate(said)
    ]
    if lines:
        complaints(store, lines, START)
    for n, offset in enumerate(days):
        day = START + timedelta(days=offset)
        run(store, day)
        check(store, day, in_scope)
        before = snapshot(store)
        again = run(store, day)
        assert snapshot(store) == before
        assert again["opened"] == again["updated"] == again["actions"] == []
        if n == 0:
            for i in approvals:
                if i < len(ids) and in_scope[ids[i]]:
                    approve(store, ids[i], day, day + timedelta(days=60))

"""The reviewer queue on SQLite and PostgreSQL: the risk order and the facts behind it, filters
and search, SLA breaches per queue, claims, releases, escalations and notes (append-only, with
their events), the backlog over time, and the evidence of one request side by side."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.program_seed import open_request, policy, seed_listing, seed_policy
from toysafe.core.program import queue as q
from toysafe.core.program.decisions import Refusal
from toysafe.core.program.model import parse_request_ref
from toysafe.io.errors import InputError
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program import review
from toysafe.store.program import review_models as rm

DAY = date(2026, 11, 20)


def _finding(store: Store, ref: str, code: str, **facts: object) -> None:
    with store.transaction() as s:
        s.add(
            pm.Finding(
                request_id=parse_request_ref(ref),
                submission_id=None,
                code=code,
                requirement=None,
                facts=[[k, v] for k, v in facts.items()],
                next_step="-",
                found_on=DAY,
            )
        )


def _complaints(store: Store, listing_id: str, n: int) -> None:
    with store.transaction() as s:
        for i in range(n):
            s.add(
                pm.Complaint(
                    complaint_id=f"C-{listing_id}-{i}",
                    listing_id=listing_id,
                    received_on=DAY - timedelta(days=3),
                    reporter=None,
                    text="it broke and a piece came off, choke risk",
                    imported_on=DAY,
                )
            )


@pytest.fixture
def queue(store: Store) -> dict[str, str]:
    """Five requests that need a person and one that does not, with every kind of risk."""
    seed_policy(store, policy(review={"queues": {"standard": {"sla_days": 2}}}))
    refs = {}
    opened = DAY - timedelta(days=10)
    refs["routine_old_due"] = open_request(
        store, seed_listing(store, "L-ROUTINE-1", min_age_months=60), opened, state="in_review"
    )
    refs["routine_late_due"] = open_request(
        store,
        seed_listing(store, "L-ROUTINE-2", min_age_months=60),
        opened + timedelta(days=2),
        state="submitted",
    )
    refs["toddler"] = open_request(
        store, seed_listing(store, "L-TODDLER", min_age_months=18), DAY, state="submitted"
    )
    refs["complaint"] = open_request(
        store,
        seed_listing(store, "L-COMPLAINT", "rival", min_age_months=60),
        DAY,
        triggers=("new_listing", "complaint"),
        state="in_review",
    )
    refs["forgery"] = open_request(
        store, seed_listing(store, "L-FORGED", min_age_months=96), DAY, state="in_review"
    )
    refs["open"] = open_request(store, seed_listing(store, "L-WAITING"), DAY, state="open")
    _finding(store, refs["forgery"], "forged_or_altered", report_no="R-1", document="report")
    _complaints(store, "L-COMPLAINT", 4)
    return refs


def test_the_queue_is_in_risk_order_with_the_facts_behind_it(
    store: Store, queue: dict[str, str]
) -> None:
    with store.reader() as s:
        page = review.queue_page(s, DAY, None, review.QueueFilter(), "me@x")
    order = [i["request"] for i in page.items]
    assert order == [
        queue["forgery"],
        queue["complaint"],
        queue["toddler"],
        queue["routine_old_due"],
        queue["routine_late_due"],
    ]
    assert queue["open"] not in order  # the seller owes an answer: no reviewer needed
    first, second, third = page.items[:3]
    assert first["risk"]["priority"] == "forgery"
    assert second["risk"]["priority"] == "complaint"
    assert {"code": "complaints", "points": 4, "facts": {"complaints": 4}} in second["risk"][
        "factors"
    ]
    assert third["risk"]["factors"] == [
        {"code": "under_36_months", "points": 3, "facts": {"min_age_months": 18}}
    ]
    assert page.by_trigger == {"complaint": 1, "new_listing": 5}


def test_filters_and_search(store: Store, queue: dict[str, str]) -> None:
    def ids(**kw: str) -> list[str]:
        with store.reader() as s:
            got = review.queue_page(s, DAY, None, review.QueueFilter(**kw), "me@x")
        return [i["request"] for i in got.items]

    assert ids(trigger="complaint") == [queue["complaint"]]
    assert ids(seller="rival") == [queue["complaint"]]
    assert set(ids(state="submitted")) == {queue["toddler"], queue["routine_late_due"]}
    assert ids(text="l-todd") == [queue["toddler"]]
    assert ids(text=queue["forgery"].lower()) == [queue["forgery"]]
    assert ids(text="listing L-FORGED") == [queue["forgery"]]  # words of the title
    assert ids(queue="senior") == []
    assert ids(claimed="me") == []


def test_pagination_keeps_the_order(store: Store, queue: dict[str, str]) -> None:
    with store.reader() as s:
        whole = review.queue_page(s, DAY, None, review.QueueFilter(), None, 1, 25)
        pages = [
            review.queue_page(s, DAY, None, review.QueueFilter(), None, n, 2) for n in (1, 2, 3)
        ]
    assert [i for p in pages for i in p.items] == whole.items
    assert pages[0].pages == 3 and pages[0].total == 5


def test_a_reviewer_sees_only_the_sellers_given(store: Store, queue: dict[str, str]) -> None:
    with store.reader() as s:
        rival = s.scalar(
            select(pm.Request.seller_org_id).where(
                pm.Request.id == parse_request_ref(queue["complaint"])
            )
        )
        page = review.queue_page(s, DAY, {rival}, review.QueueFilter(), None)
    assert [i["request"] for i in page.items] == [queue["complaint"]]


def test_sla_breaches_per_queue(store: Store, queue: dict[str, str]) -> None:
    with store.reader() as s:
        page = review.queue_page(s, DAY, None, review.QueueFilter(), None)
    # standard SLA 2 days: the two requests opened 10 and 8 days ago are past it
    assert page.sla_days == {"standard": 2, "senior": 5}
    assert page.breaches == {"standard": 2, "senior": 0}
    desk = review.Desk(store, "rev@market")
    desk.escalate(queue["routine_old_due"], "needs a chemist", DAY - timedelta(days=6))
    with store.reader() as s:
        page = review.queue_page(s, DAY, None, review.QueueFilter(), None)
    # escalated 6 days ago: past the senior SLA of 5
    assert page.breaches == {"standard": 1, "senior": 1}
    assert page.queue_sizes == {"standard": 4, "senior": 1}


def test_claim_release_escalate_and_notes_are_logged(store: Store, queue: dict[str, str]) -> None:
    ref = queue["toddler"]
    ann, bob = review.Desk(store, "ann@market"), review.Desk(store, "bob@market")
    claimed = ann.claim(ref, DAY)
    assert claimed["claimed_by"] == "ann@market" and claimed["claimed_at"]
    assert ann.claim(ref, DAY) == claimed  # again: nothing changes
    with pytest.raises(Refusal) as e:
        bob.claim(ref, DAY)
    assert e.value.code == "claimed_by_other"
    with pytest.raises(Refusal):
        bob.release(ref, DAY)
    review.Desk(store, "boss@market", admin=True).release(ref, DAY)  # an admin may
    bob.claim(ref, DAY)
    with pytest.raises(InputError, match="reason"):
        bob.escalate(ref, "  ", DAY)
    out = bob.escalate(ref, "possible recall overlap", DAY)
    assert out["queue"] == "senior" and out["claimed_by"] is None
    with pytest.raises(Refusal) as e:
        bob.escalate(ref, "again", DAY)
    assert e.value.code == "already_escalated"
    note = ann.note(ref, "Called the lab: report genuine.", DAY)
    with pytest.raises(InputError, match="body"):
        ann.note(ref, "", DAY)
    with store.reader() as s:
        state = review.review_state(s, parse_request_ref(ref))
        events = s.execute(
            select(pm.ProgramEvent.kind, pm.ProgramEvent.actor)
            .where(pm.ProgramEvent.subject == ref)
            .order_by(pm.ProgramEvent.id)
        ).all()
        history_events = s.scalars(
            select(pm.RequestHistory.event).where(
                pm.RequestHistory.request_id == parse_request_ref(ref)
            )
        ).all()
    assert [(x["action"], x["actor"]) for x in state["log"]] == [
        ("claimed", "ann@market"),
        ("released", "boss@market"),
        ("claimed", "bob@market"),
        ("escalated", "bob@market"),
    ]
    assert state["log"][3]["reason"] == "possible recall overlap"
    assert state["notes"] == [note]
    assert [tuple(e) for e in events] == [
        ("review.claimed", "ann@market"),
        ("review.released", "boss@market"),
        ("review.claimed", "bob@market"),
        ("review.escalated", "bob@market"),
        ("review.note", "ann@market"),
    ]
    # the seller-visible history carries none of it
    assert list(history_events) == ["opened"]


def test_only_requests_waiting_for_a_reviewer_are_claimed(
    store: Store, queue: dict[str, str]
) -> None:
    with pytest.raises(Refusal) as e:
        review.Desk(store, "ann@market").claim(queue["open"], DAY)
    assert e.value.code == "not_awaiting_review"
    with store.reader() as s:
        assert s.scalar(select(func.count()).select_from(rm.ReviewLog)) == 0


def test_the_backlog_against_the_sla(store: Store, queue: dict[str, str]) -> None:
    with store.reader() as s:
        points = review.backlog(s, None, DAY - timedelta(days=11), DAY)
    by_day = {p.day: p for p in points}
    assert by_day[DAY - timedelta(days=11)].waiting == 0
    assert by_day[DAY - timedelta(days=10)].waiting == 1
    assert by_day[DAY].waiting == 5
    assert by_day[DAY].breaching == 2
    assert by_day[DAY - timedelta(days=7)].breaching == 1  # 3 days in, SLA 2


def test_the_evidence_marks_what_the_findings_name(store: Store, queue: dict[str, str]) -> None:
    ref = queue["forgery"]
    with store.reader() as s:
        ev = review.evidence(s, parse_request_ref(ref), DAY)
    assert ev["listing"]["listing_id"] == "L-FORGED"
    assert ev["marks"] == {"report": ["R-1"]}
    assert ev["findings"][0]["targets"] == ["report:R-1"]


def test_the_policy_extension_defaults_and_errors() -> None:
    assert policy().review.sla_days("senior") == 5
    assert "review" not in policy().canonical()  # stored digests stay what they were
    with pytest.raises(ValueError, match="unknown queue"):
        policy(review={"queues": {"urgent": {"sla_days": 1}}})
    with pytest.raises(ValueError, match="sla_days"):
        policy(review={"queues": {"standard": {"sla_days": -1}}})


def test_risk_puts_missing_ages_and_weak_bands_forward() -> None:
    base = q.QueueFacts(1, "submitted", DAY, DAY, (), False, 60, 0, "healthy")
    no_age = q.QueueFacts(2, "submitted", DAY, DAY, (), False, None, 0, "healthy")
    weak = q.QueueFacts(3, "submitted", DAY, DAY, (), False, 60, 0, "deactivation_eligible")
    assert [f.request_id for f, _ in q.ordered([base, no_age, weak])] == [2, 3, 1]


def test_the_sql_order_is_the_pure_risk_order(store: Store) -> None:
    """Random requests (ages, complaints, bands, forgeries, complaint triggers, due dates):
    the order the database gives is the order of core.program.queue.risk on the same facts."""
    import random

    from tests.program_seed import org_id

    rng = random.Random(5)
    seed_policy(store)
    sellers = [f"s{i}" for i in range(4)]
    with store.transaction() as s:
        for i, band in enumerate(("healthy", "at_risk", "deactivation_eligible", None)):
            if band:
                s.add(pm.AccountRow(seller_org_id=org_id(store, sellers[i]), since=DAY,
                                    score=0, band=band, state="active", trusted=False,
                                    computed_on=DAY, policy_version=1))  # fmt: skip
    for i in range(40):
        lid = f"L-R{i:03d}"
        ref = open_request(
            store,
            seed_listing(
                store, lid, rng.choice(sellers), min_age_months=rng.choice([None, 6, 35, 36, 120])
            ),  # fmt: skip
            DAY - timedelta(days=rng.randint(0, 5)),
            triggers=("new_listing", "complaint") if rng.random() < 0.2 else ("new_listing",),
            state=rng.choice(["submitted", "in_review"]),
        )
        if rng.random() < 0.1:
            _finding(store, ref, "forged_or_altered", document="certificate")
        if rng.random() < 0.4:
            _complaints(store, lid, rng.randint(1, 7))
    with store.reader() as s:
        rows = review.load_queue(s, DAY, policy(), None)
    assert len(rows) == 40
    assert [r.facts.request_id for r in rows] == [
        f.request_id for f, _ in q.ordered(r.facts for r in rows)
    ]
    assert len({q.risk(r.facts).exposure for r in rows}) > 3  # the data exercise the order
    # Every component of the key is exercised: each priority, each exposure factor (the
    # complaint points at their cap too), and ties on the leading parts broken by due and id.
    risks = [q.risk(r.facts) for r in rows]
    assert {r.priority for r in risks} == set(q.Priority)
    codes = {x.code for r in risks for x in r.factors}
    assert {"age_missing", "under_36_months", "complaints", "seller_band"} <= codes
    assert any(x.points == q.MAX_COMPLAINT_POINTS for r in risks for x in r.factors)
    assert {r.facts.seller_band for r in rows} >= {"at_risk", "deactivation_eligible", None}
    heads = [(k.priority, k.neg_exposure) for k in (r.key for r in risks)]
    assert len(heads) > len(set(heads))  # ties that due breaks
    dues = [(k.priority, k.neg_exposure, k.due) for k in (r.key for r in risks)]
    assert len(dues) > len(set(dues))  # ties that the request id breaks
    # Pages read the same order (the key is ordered in one query, the page read in another).
    with store.reader() as s:
        paged = [
            r.facts.request_id
            for page in range(0, 40, 7)
            for r in review.load_queue(s, DAY, policy(), None, limit=7, offset=page)
        ]
    assert paged == [r.facts.request_id for r in rows]

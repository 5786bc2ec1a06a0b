"""The day loop: a temporary workspace (embedded SQLite) run through the real program code.

Each simulated day, in order: the marketplace's feeds (new listings, corrected listings,
complaints) go in through the feed importers; the daily sweep runs for that date; sellers act
(submissions through the real pre-check, appeals); reviewers work their queue up to their daily
capacity (decisions, appeal decisions). Everything is driven with the day's date, never the
wall clock. What happened is read back from the workspace's own records (``metrics``).
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import LabRegistry
from toysafe.core.law.profile import Profile
from toysafe.core.program import decisions as d
from toysafe.core.program.policy import Policy
from toysafe.io.kb import default_kb
from toysafe.io.program import ComplaintRow, ListingRow
from toysafe.sim import actors as A
from toysafe.sim import calibration as C
from toysafe.sim import catalog
from toysafe.sim import tic as T
from toysafe.sim.metrics import Observed, QueueItem, collect
from toysafe.store.db import Store, make_engine, migrate
from toysafe.store.program import models as pm
from toysafe.store.program.casework import Casework, key_text
from toysafe.store.program.feeds import import_complaints, import_listings
from toysafe.store.program.policies import load_policy
from toysafe.store.program.sweep import sweep
from toysafe.store.program.validations import Validations
from toysafe.store.workspace import Workspace

MARKETPLACE_ACTOR = "sim-marketplace"
REVIEWER = "sim-reviewer"


@dataclass
class Case:
    """The simulation's memory of one request (what its seller did, what was forged)."""

    ref: str
    listing_id: str
    request_no: int
    opened_day: int
    attempt: int = 0
    forged: bool = False
    appealed: bool = False


@dataclass
class Held:
    """Reports a seller holds for a listing: the number they were issued under, and when."""

    number: str
    issued: date
    passing: bool


@dataclass
class Job:
    """A seller's request to a TIC: validate the report it holds, or test the product."""

    listing_id: str
    ref: str
    tic: str
    test: bool
    n: int  # the listing's job number (its TRF)
    entered: int


@dataclass
class State:
    cases: dict[str, Case] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)  # listing -> its newest request
    requests_of: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    held: dict[str, Held] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    model_now: dict[str, str] = field(default_factory=dict)
    fixed_day: dict[str, int] = field(default_factory=dict)
    steps: dict[int, list[tuple[str, str, A.Step]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    fixes: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    complaints: dict[int, list[ComplaintRow]] = field(default_factory=lambda: defaultdict(list))
    queue: list[QueueItem] = field(default_factory=list)
    suspended: set[str] = field(default_factory=set)
    tic_queue: dict[str, list[Job]] = field(default_factory=lambda: defaultdict(list))
    tic_done: dict[int, list[Job]] = field(default_factory=lambda: defaultdict(list))
    tic_jobs: dict[str, int] = field(default_factory=lambda: defaultdict(int))


Progress = Callable[[int], None]


class Simulation:
    def __init__(
        self,
        cfg: A.SimConfig,
        policy: Policy,
        profiles: Path = catalog.EXAMPLES,
        progress: Progress | None = None,
    ) -> None:
        self.cfg = cfg
        # a policy with a direct-validation category: the simulator's TICs are approved in it
        self.policy = T.approved(policy) if T.has_direct(policy) else policy
        self.profiles = profiles
        self.progress = progress or (lambda _: None)
        self.kb = default_kb()
        self.st = State()
        self.obs = Observed(cfg.days)
        self._certs: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._casework: dict[str, Casework] = {}
        self._validations: dict[str, Validations] = {}

    # --- setting up the marketplace -----------------------------------------------------------

    def run(self) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="toysafe-sim-") as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'sim.db'}")
            try:
                migrate(engine)
                self.store = Store(engine)
                self.workdir = Path(tmp)
                self._setup()
                for i in range(self.cfg.days):
                    self._day(i)
                    self.progress(i + 1)
                return collect(self.store, self.cfg, self.policy, self.obs, self._truth)
            finally:
                engine.dispose()

    def _setup(self) -> None:
        cfg, start = self.cfg, self.cfg.start
        bases = catalog.load_archetypes(self.profiles, self.kb, start)
        self.bases = bases
        kinds = [catalog.archetype(k, p, self.kb, start) for k, p in sorted(bases.items())]
        self.sellers = {s.slug: s for s in A.make_sellers(cfg)}
        self.listings = {
            x.listing_id: x for x in A.make_listings(cfg, list(self.sellers.values()), kinds)
        }
        load_policy(self.store, self.policy, start, MARKETPLACE_ACTOR)
        market = Workspace(self.store, self.policy.marketplace, MARKETPLACE_ACTOR)
        market.init()
        rows = catalog.lab_rows(bases, self.kb, start)
        self.registry = LabRegistry.from_rows(rows)
        rows += T.lab_rows({r.scope for r in rows})
        market.import_labs(rows, start - _days(1))
        by_seller: dict[str, list[Profile]] = defaultdict(list)
        self.profile_of: dict[str, Profile] = {}
        for x in self.listings.values():
            if x.archetype is not None and x.sku is not None:
                p = catalog.clone(bases[x.archetype], x.sku)
                self.profile_of[x.listing_id] = p
                by_seller[x.seller].append(p)
                self.st.model_now[x.listing_id] = x.model
        self.keys = {slug: catalog.seller_key(cfg.seed, slug) for slug in self.sellers}
        self.parties = {slug: catalog.party(slug) for slug in self.sellers}
        for slug in sorted(self.sellers):
            ws = Workspace(self.store, slug, slug)
            ws.init(self.parties[slug].model_dump(mode="json", exclude_none=True))
            if by_seller[slug]:
                ws.add_profiles(by_seller[slug], start)
            public = self.keys[slug].public_key()
            self._work(slug).add_key(slug, key_text(public), start - _days(1))
        self.tics = [t for t in T.TIC_LABS if self.policy.tic(t) is not None]
        if cfg.history:
            self._prehistory(start - _days(1))

    def _direct(self, listing_id: str) -> bool:
        """Whether the listing's category takes only a TIC's validation."""
        key = self.policy.category_of(self.listings[listing_id].category)
        return key is not None and self.policy.categories[key].evidence == "direct_validation"

    def _prehistory(self, day: date) -> None:
        """The catalog's history: listings approved before the first simulated day, on reports
        0-364 days old (so renewals fall due during the run), through the real program code on
        the day before the run (its requests and decisions are not counted in the metrics)."""
        old = [x for x in self.listings.values() if x.history]
        if not old:
            return
        rows = [self._row(x.listing_id, x.listed_on) for x in old]
        import_listings(self.store, rows, day, MARKETPLACE_ACTOR, "sim listings (history)")
        result = sweep(self.store, day, MARKETPLACE_ACTOR, kb=self.kb)
        for o in result.opened:
            ref, lid = o["request"], o["listing_id"]
            x = self.listings[lid]
            self.st.requests_of[lid] += 1
            self.st.cases[ref] = Case(ref, lid, self.st.requests_of[lid], -1)
            self.st.current[lid] = ref
            back = A.span(
                A.stream(self.cfg.seed, "history-age", lid), C.HISTORY_REPORT_AGE_DAYS.value
            )
            issued = day - _days(back)
            if self._direct(lid) and self.tics:
                tic = A.tic_choice(self.cfg.seed, lid, 0, self.tics)
                number = f"SIMTIC-{lid}-0"
                self._file(day, tic, f"TRF-{lid}-0", x, number, issued, T.TIC_LABS[tic], True)
                self.st.held[lid] = Held(number, issued, True)
                continue
            profile = self.profile_of[lid]
            number = f"SIMLAB-{lid}-0"
            reports = catalog.reports(profile, number, issued, True, x.model)
            key, who = self.keys[x.seller], self.parties[x.seller]
            cert = catalog.certificate(profile, reports, self.registry, who, key, issued, self.kb)
            self.st.held[lid] = Held(number, issued, True)
            try:
                out = self._work(x.seller).submit(
                    ref, profile, cert, [(r.report_no, r) for r in reports], day
                )
                if out["state"] == "in_review":
                    self._work(REVIEWER).decide(ref, "approve", "evidence_complete", day)
            except d.Refusal:
                continue

    def _work(self, actor: str) -> Casework:
        """One Casework per actor for the whole run: what it resolves once (the workspace's
        own key) is not read again for every submission."""
        work = self._casework.get(actor)
        if work is None:
            work = self._casework[actor] = Casework(self.store, self.workdir, actor)
        return work

    def _truth(self, listing_id: str, day: date) -> bool:
        """Whether a listing meets the rules on a day (what the program cannot see)."""
        x = self.listings.get(listing_id)
        if x is None or x.archetype is None or not x.fails_test:
            return True
        fixed = self.st.fixed_day.get(listing_id)
        return fixed is not None and self.cfg.day(fixed) <= day

    # --- one day ------------------------------------------------------------------------------

    def _day(self, i: int) -> None:
        day = self.cfg.day(i)
        self._feeds(i, day)
        result = sweep(self.store, day, MARKETPLACE_ACTOR, kb=self.kb)
        with self.store.reader() as s:
            self.obs.trusted[i] = int(
                s.scalar(
                    select(func.count())
                    .select_from(pm.AccountRow)
                    .where(pm.AccountRow.trusted.is_(True))
                )
                or 0
            )
        for acc in result.accounts:
            if acc.get("state") == "suspended":
                self.st.suspended.add(acc["seller"])
            elif acc.get("state") == "active":
                self.st.suspended.discard(acc["seller"])
        for o in result.opened:
            self._opened(i, o["request"], o["listing_id"])
        for a in result.actions:
            lid = a.get("listing_id")
            case = self.st.cases.get(a.get("request") or "")
            if a["action"] == "suppressed" and lid and case is not None and not case.appealed:
                x = self.listings[lid]
                if x.archetype is None:
                    case.appealed = True
                    self._schedule(i, case, A.appeal_step(self.cfg.seed, x, case.request_no, False))
        for job in self.st.tic_done.pop(i, []):
            self._deliver(i, day, job)
        for lid, ref, step in sorted(self.st.steps.pop(i, []), key=lambda t: (t[0], t[1])):
            if self.listings[lid].seller in self.st.suspended:
                continue
            self._act(i, day, self.st.cases[ref], step)
        self._tic_intake(i)
        self._review(i, day)

    def _feeds(self, i: int, day: date) -> None:
        rows = [self._row(x.listing_id, x.listed_on) for x in self._arriving(i)]
        rows += [self._row(lid, self.listings[lid].listed_on) for lid in self.st.fixes.pop(i, [])]
        if rows:
            import_listings(self.store, rows, day, MARKETPLACE_ACTOR, "sim listings feed")
        complaints = self.st.complaints.pop(i, [])
        with self.store.reader() as s:
            live = sorted(
                s.scalars(
                    select(pm.ProgramListing.listing_id).where(pm.ProgramListing.state == "active")
                )
            )
        for lid in live:
            for k, (who, text) in enumerate(
                A.complaints_today(self.cfg.seed, lid, i, not self._truth(lid, day))
            ):
                complaints.append(
                    ComplaintRow(
                        complaint_id=f"C-{lid}-{i}-{k}",
                        listing_id=lid,
                        received_on=day,
                        reporter=who,
                        text=text,
                    )
                )
        for k in range(A.campaigns_today(self.cfg.seed, i, len(live)) if live else 0):
            target = A.campaign_target(self.cfg.seed, i, k, live)
            self.obs.campaigns += 1
            for j in range(3):
                self.st.complaints[i + j].append(
                    ComplaintRow(
                        complaint_id=f"F-{i}-{k}-{j}",
                        listing_id=target,
                        received_on=self.cfg.day(i + j),
                        reporter=f"rival-{i}-{k}",
                        text=A.HAZARD_TEXTS[(i + k + j) % len(A.HAZARD_TEXTS)],
                    )
                )
        complaints += self.st.complaints.pop(i, [])
        if complaints:
            self.obs.complaints[i] += len(complaints)
            import_complaints(self.store, complaints, day, MARKETPLACE_ACTOR, "sim complaints")

    def _arriving(self, i: int) -> list[A.Listing]:
        if not hasattr(self, "_by_day"):
            self._by_day: dict[int, list[A.Listing]] = defaultdict(list)
            for x in self.listings.values():
                if not x.history:  # history listings came in before the first day
                    self._by_day[x.listed_day].append(x)
        return self._by_day.pop(i, [])

    def _row(self, lid: str, listed_on: date) -> ListingRow:
        x = self.listings[lid]
        return ListingRow(
            listing_id=lid,
            seller=x.seller,
            category=x.category,
            title=f"{x.archetype or 'collectible figure'} {lid}",
            brand=None,
            model=self.st.model_now.get(lid, x.model),
            min_age_months=x.min_age_months,
            cautionary_statement=x.cautionary_statement,
            listed_on=listed_on,
            sku=x.sku,
        )

    def _opened(self, i: int, ref: str, lid: str) -> None:
        self.st.requests_of[lid] += 1
        case = Case(ref, lid, self.st.requests_of[lid], i)
        self.st.cases[ref] = case
        self.st.current[lid] = ref
        x = self.listings[lid]
        held = self.st.held.get(lid)
        fresh = (
            held is not None
            and held.passing
            and (self.cfg.day(i) - held.issued).days < self._max_age() - 30
        )
        step = A.first_step(
            self.cfg.seed, self.sellers[x.seller], x, case.request_no, fresh, self._direct(lid)
        )
        self._schedule(i, case, step)

    def _max_age(self) -> int:
        return min(c.max_report_age_days for c in self.policy.categories.values())

    def _schedule(self, i: int, case: Case, step: A.Step | None) -> None:
        if step is not None:
            self.st.steps[i + max(1, step.days)].append((case.listing_id, case.ref, step))

    # --- sellers ------------------------------------------------------------------------------

    def _act(self, i: int, day: date, case: Case, step: A.Step) -> None:
        if self.st.current.get(case.listing_id) != case.ref:
            return  # a newer request replaced this one
        x = self.listings[case.listing_id]
        seller = self.sellers[x.seller]
        if step.kind == "test_failed":
            self.obs.failed_tests[i] += 1
            again = A.after_failed_test(self.cfg.seed, x, case.request_no)
            if again is not None:
                self.st.fixed_day[x.listing_id] = i + again.days
            self._schedule(i, case, again)
            return
        if step.kind in ("ask_tic", "ask_tic_test"):
            if not self.tics:
                return
            self.st.tic_jobs[x.listing_id] += 1
            n = self.st.tic_jobs[x.listing_id]
            tic = A.tic_choice(self.cfg.seed, x.listing_id, n, self.tics)
            job = Job(x.listing_id, case.ref, tic, step.kind == "ask_tic_test", n, i)
            self.st.tic_queue[tic].append(job)
            self.obs.tic_requested[i] += 1
            return
        work = self._work(x.seller)
        if step.kind in ("appeal_not_applicable", "appeal_decision_wrong"):
            claim = "not_applicable" if step.kind == "appeal_not_applicable" else "decision_wrong"
            try:
                apl = work.appeal(
                    case.ref,
                    claim,
                    "the listing was judged a children's toy"
                    if x.archetype is None
                    else "the reviewer misread our documents",
                    "listing details corrected",
                    "every listing checked before publishing",
                    [],
                    day,
                )
            except d.Refusal:
                return
            self.obs.appeals_filed[i] += 1
            self.st.queue.append(QueueItem("appeal", apl["id"], case.ref, i, claim))
            return
        docs = self._documents(i, day, x, step.variant)
        if docs is None:
            return
        reports, cert = docs
        case.attempt += 1
        try:
            out = work.submit(
                case.ref,
                self.profile_of[x.listing_id],
                cert,
                [(r.report_no, r) for r in reports],
                day,
            )
        except d.Refusal:
            return
        self.obs.submissions[i] += 1
        state = out["state"]
        if state == "in_review":
            case.forged = step.variant in A.DETECTABLE
            self.st.queue.append(QueueItem("request", case.ref, case.ref, i, None))
        elif state == "revision_requested":
            if step.variant == "listing_error":  # the seller corrects the listing's model
                self.st.model_now[x.listing_id] = reports[0].products[0].model or x.model
                self.st.fixes[i + 1].append(x.listing_id)
            self._schedule(
                i,
                case,
                A.after_findings(
                    self.cfg.seed, seller, x, case.request_no, case.attempt, step.variant
                ),
            )

    def _documents(
        self, i: int, day: date, x: A.Listing, variant: A.Variant
    ) -> tuple[list[LabReport], dict[str, Any]] | None:
        profile = self.profile_of.get(x.listing_id)
        if profile is None:
            return None
        lid, held = x.listing_id, self.st.held.get(x.listing_id)
        model = self.st.model_now.get(lid, x.model)
        if variant == "edited_report" and held is not None:
            number, issued = held.number, held.issued  # the number on file, values edited
        elif (
            variant == "clean"
            and held is not None
            and held.passing
            and ((day - held.issued).days < self._max_age() - 30)
        ):
            number, issued = held.number, held.issued
        else:
            self.st.rounds[lid] += 1
            number = f"SIMLAB-{lid}-{self.st.rounds[lid]}"
            back = A.stream(self.cfg.seed, "issued", lid, self.st.rounds[lid]).randint(0, 200)
            issued = day if variant in ("clean", "failing") else day - _days(back)
            if variant == "old_report":
                issued = day - _days(self._max_age() + 30 + back)
        if variant == "listing_error":
            model = f"FAC-{x.sku}"
        passing = variant != "failing"
        reports = catalog.reports(profile, number, issued, passing, model)
        if variant not in A.FORGERIES:
            self.st.held[lid] = Held(number, issued, passing)
        relied = catalog.reports(profile, number, issued, True, model)
        memo = (lid, number, issued.isoformat(), model)
        cert = self._certs.get(memo)
        if cert is None:
            key, who = self.keys[x.seller], self.parties[x.seller]
            cert = catalog.certificate(profile, relied, self.registry, who, key, issued, self.kb)
            self._certs[memo] = cert
        if variant == "tampered_certificate":
            cert = catalog.tamper(cert)
        if variant == "missing_report" and len(reports) > 1:
            reports = reports[:1]
        return reports, cert

    # --- TICs ---------------------------------------------------------------------------------

    def _tic_intake(self, i: int) -> None:
        """Each TIC starts up to its daily capacity of waiting jobs, oldest first."""
        cap = int(C.TIC_CAPACITY_PER_DAY.value)
        waiting = 0
        for tic in sorted(self.st.tic_queue):
            queue = self.st.tic_queue[tic]
            for job in queue[:cap]:
                self.obs.tic_waits.append(i - job.entered)
                self.obs.tic_started[i] += 1
                took = A.tic_days(self.cfg.seed, job.listing_id, job.n, job.test)
                self.st.tic_done[i + max(1, took)].append(job)
            del queue[:cap]
            waiting += len(queue)
        self.obs.tic_backlog[i] = waiting

    def _deliver(self, i: int, day: date, job: Job) -> None:
        """The TIC sends its validation; the program files it (and feeds the open request)."""
        x = self.listings[job.listing_id]
        lid = x.listing_id
        if job.test:
            number, issued, lab = f"SIMTIC-{lid}-{job.n}", day, T.TIC_LABS[job.tic]
        else:  # the report the seller holds, from the lab that issued it
            held = self.st.held.get(lid)
            if held is not None and (day - held.issued).days < self._max_age() - 30:
                number, issued = held.number, held.issued
            else:
                self.st.rounds[lid] += 1
                number = f"SIMLAB-{lid}-{self.st.rounds[lid]}"
                back = A.stream(self.cfg.seed, "issued", lid, self.st.rounds[lid]).randint(0, 200)
                issued = day - _days(back)
            lab = catalog.LAB_ID
        passing = self._truth(lid, day)
        filing = self._file(day, job.tic, f"TRF-{lid}-{job.n}", x, number, issued, lab, passing)
        if filing is None:
            return
        self.obs.tic_filed[i] += 1
        self.st.held[lid] = Held(number, issued, passing)
        for r in filing.requests:
            case = self.st.cases.get(r.get("request") or "")
            if case is None or "state" not in r:
                continue
            case.attempt += 1
            if r["state"] == "in_review":
                self.st.queue.append(QueueItem("request", case.ref, case.ref, i, None))
            elif r["state"] == "revision_requested":
                failed = any(f.get("code") == "failed_test" for f in r.get("findings", []))
                if failed:
                    self.obs.failed_tests[i] += 1
                seller = self.sellers[x.seller]
                again = A.after_tic_findings(
                    self.cfg.seed, seller, x, case.request_no, case.attempt, failed
                )
                if again is not None and failed:
                    self.st.fixed_day[lid] = i + again.days
                self._schedule(i, case, again)

    def _file(
        self,
        day: date,
        tic: str,
        trf: str,
        x: A.Listing,
        number: str,
        issued: date,
        lab: str,
        passing: bool,
    ) -> Any:
        profile = self.profile_of[x.listing_id]
        raw = T.validation(
            tic=tic,
            trf=trf,
            listing_id=x.listing_id,
            seller=x.seller,
            maker=self.parties[x.seller],
            profile=profile,
            report_no=number,
            report_issued=issued,
            report_lab=lab,
            issued=day,
            passing=passing,
            kb=self.kb,
        )
        vals = self._validations.get(tic)
        if vals is None:
            vals = self._validations[tic] = Validations(self.store, f"tic:{tic}")
        filing = vals.add(raw, f"{trf}.json", day, uploader_tic=tic)
        if filing.refused:
            self.obs.tic_refused += 1
            return None
        return filing

    # --- reviewers ----------------------------------------------------------------------------

    def _review(self, i: int, day: date) -> None:
        budget = self.cfg.reviewers * self.cfg.capacity
        self.st.queue.sort(key=lambda q: (q.entered, q.ref))
        done = 0
        while self.st.queue and done < budget:
            item = self.st.queue.pop(0)
            done += 1
            self.obs.reviewed(item, i, self.cfg.sla_days)
            work = self._work(REVIEWER)
            if item.kind == "request":
                case = self.st.cases[item.request]
                try:
                    if case.forged:
                        work.decide(item.request, "reject", "forged_or_altered", day)
                        x = self.listings[case.listing_id]
                        self._schedule(
                            i, case, A.appeal_step(self.cfg.seed, x, case.request_no, True)
                        )
                    else:
                        work.decide(item.request, "approve", "evidence_complete", day)
                except d.Refusal:
                    pass
                continue
            case = self.st.cases[item.request]
            justified = (
                item.claim == "not_applicable" and self.listings[case.listing_id].archetype is None
            )
            right = A.reviewer_is_right(self.cfg.seed, item.ref)
            overturn = justified if right else not justified
            try:
                work.decide_appeal(
                    item.ref,
                    overturn,
                    "not a children's product" if overturn else "the decision stands",
                    day,
                )
            except d.Refusal:
                continue
            if overturn:
                self.obs.overturns[i] += 1
        self.obs.end_of_day(i, self.st.queue, self.cfg.sla_days, done)


def _days(n: int) -> timedelta:
    return timedelta(days=n)

"""The synthetic actors: sellers, their listings, complainants and their choices.

Pure: every draw comes from a random stream keyed by the seed and the entity it is about
(``stream(seed, "listing", id, ...)``), so one actor's choices never shift another's, and a
policy change compared on the same seed changes only what the policy changes.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from toysafe.sim import calibration as C

Variant = Literal[
    "clean",
    "missing_report",
    "listing_error",
    "old_report",
    "failing",
    "fabricated",
    "edited_report",
    "tampered_certificate",
]
StepKind = Literal[
    "submit",
    "test_failed",
    "appeal_not_applicable",
    "appeal_decision_wrong",
    "ask_tic",  # direct validation: a TIC validates the report the seller holds
    "ask_tic_test",  # direct validation: a TIC tests the product, then validates
]
BABY = "baby_products"
TOYS = "toys_and_games"
FORGERIES: frozenset[str] = frozenset({"fabricated", "edited_report", "tampered_certificate"})
#: Forgeries the pre-check can see (the fabricated one has nothing on file to compare against).
DETECTABLE: frozenset[str] = frozenset({"edited_report", "tampered_certificate"})

HAZARD_TEXTS = (
    "my toddler started to choke on a piece that came off",
    "a magnet fell out of the tile",
    "the battery cover opens without a tool",
    "sharp edge on the seam cut my son",
    "paint flakes, worried about lead",
    "my daughter got a rash after playing with it",
)
OTHER_TEXTS = (
    "arrived late and the box was dented",
    "colours differ from the photos",
    "great toy but smaller than expected",
    "missing the instruction sheet",
    "the battery died after a week",  # a keyword in an innocent complaint
)


def stream(seed: int, *key: object) -> random.Random:
    """An independent random stream for one purpose of one entity."""
    h = hashlib.sha256(json.dumps([seed, *key], default=str).encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def span(r: random.Random, bounds: tuple[int, int]) -> int:
    return r.randint(bounds[0], bounds[1])


@dataclass(frozen=True, slots=True)
class SimConfig:
    sellers: int
    listings: int
    days: int
    seed: int
    start: date = date(2026, 1, 5)
    reviewers: int = int(C.REVIEWERS.value)
    capacity: int = int(C.REVIEWER_CAPACITY.value)
    sla_days: int = int(C.REVIEW_SLA_DAYS.value)
    history: bool = True  # start with a catalog that already has approvals and older sellers

    def problems(self) -> list[tuple[str, str]]:
        """(option, what is wrong) for every out-of-range value."""
        out: list[tuple[str, str]] = []
        for name, value, low, high in (
            ("--sellers", self.sellers, 1, 100_000),
            ("--listings", self.listings, 1, 1_000_000),
            ("--days", self.days, 1, 3_650),
            ("--reviewers", self.reviewers, 0, 10_000),
            ("--capacity", self.capacity, 0, 100_000),
            ("--sla-days", self.sla_days, 1, 365),
        ):
            if not low <= value <= high:
                out.append((name, f"must be between {low} and {high}, not {value}"))
        if self.listings < self.sellers:
            out.append(("--listings", f"must be at least --sellers ({self.sellers})"))
        return out

    def day(self, i: int) -> date:
        return self.start + timedelta(days=i)


@dataclass(frozen=True, slots=True)
class Archetype:
    """A realistic product to list (an example profile): what a listing of it says."""

    stem: str
    min_age_months: int
    cautionary_statement: str | None
    brand: str | None


@dataclass(frozen=True, slots=True)
class Seller:
    slug: str
    tier: str
    answers: float  # probability of acting on a request at all
    sloppy: float  # probability that a submission has a mistake
    dishonest: bool
    joined_days: int = 0  # days on the marketplace before the first simulated day (history)


@dataclass(frozen=True, slots=True)
class Listing:
    listing_id: str
    seller: str
    archetype: str | None  # None: not a children's product (no linked product, no age)
    sku: str | None
    model: str
    min_age_months: int | None
    cautionary_statement: str | None
    listed_day: int  # 0: on the marketplace when the program starts
    listed_on: date
    fails_test: bool  # the product as made would fail a lab test
    category: str = TOYS  # the marketplace's listing category
    history: bool = False  # approved before the first simulated day (a catalog with history)


@dataclass(frozen=True, slots=True)
class Step:
    """What an actor does, and how many days from now."""

    days: int
    kind: StepKind
    variant: Variant = "clean"


def make_sellers(cfg: SimConfig) -> list[Seller]:
    tiers = C.TIERS.value
    names = sorted(tiers)
    out = []
    for i in range(cfg.sellers):
        r = stream(cfg.seed, "seller", i)
        tier = r.choices(names, weights=[tiers[n][0] for n in names])[0]
        out.append(
            Seller(
                slug=f"sim-s{i:05d}",
                tier=tier,
                answers=tiers[tier][1],
                sloppy=tiers[tier][2],
                dishonest=r.random() < C.DISHONEST_SHARE.value,
                joined_days=_joined(cfg, i),
            )
        )
    return out


def _joined(cfg: SimConfig, i: int) -> int:
    r = stream(cfg.seed, "seller-joined", i)
    ages = C.SELLER_AGE_DAYS.value
    if r.random() < C.ESTABLISHED_SELLER_SHARE.value:
        return span(r, ages["established"])
    return span(r, ages["new"])


def make_listings(
    cfg: SimConfig, sellers: list[Seller], archetypes: list[Archetype]
) -> list[Listing]:
    """The catalog: sellers of very different sizes (Zipf-like weights, an assumption)."""
    weights = [1.0 / (k + 1) ** 0.8 for k in range(len(sellers))]
    order = stream(cfg.seed, "seller-sizes").sample(range(len(sellers)), len(sellers))
    by_weight = [weights[order.index(k)] for k in range(len(sellers))]
    out = []
    count: dict[str, int] = {}
    for i in range(cfg.listings):
        r = stream(cfg.seed, "listing", i)
        # every seller has a listing; the rest follow the size weights
        seller = sellers[i] if i < len(sellers) else r.choices(sellers, weights=by_weight)[0]
        n = count[seller.slug] = count.get(seller.slug, 0) + 1
        initial = r.random() < C.INITIAL_SHARE.value
        day = 0 if initial else r.randint(1, max(1, cfg.days - 1))
        listed = cfg.start - timedelta(days=r.randint(1, 365)) if initial else cfg.day(day)
        if cfg.history and i < len(sellers):  # a seller's first listing: when it joined
            initial, day = True, 0
            listed = cfg.start - timedelta(days=seller.joined_days)
        elif cfg.history and initial:
            back = stream(cfg.seed, "listed", i).randint(1, max(1, seller.joined_days))
            listed = cfg.start - timedelta(days=back)
        lid = f"SIM{i:07d}"
        if r.random() < C.NOT_A_TOY_SHARE.value:
            out.append(
                Listing(
                    lid,
                    seller.slug,
                    None,
                    None,
                    f"{seller.slug}-COL-{n}",
                    None,
                    None,
                    day,
                    listed,
                    False,
                )
            )
            continue
        a = r.choice(archetypes)
        sku = f"{seller.slug.upper()}-{n:05d}"
        fails = r.random() < C.NON_COMPLIANT.value[seller.tier]
        infant = a.min_age_months < C.INFANT_UNDER_MONTHS.value
        before = (
            cfg.history
            and initial
            and not fails
            and stream(cfg.seed, "history", i).random() < C.HISTORY_APPROVED_SHARE.value
        )
        out.append(
            Listing(
                lid,
                seller.slug,
                a.stem,
                sku,
                sku,
                a.min_age_months,
                a.cautionary_statement,
                day,
                listed,
                fails,
                BABY if infant else TOYS,
                before,
            )
        )
    return out


def first_step(
    seed: int,
    seller: Seller,
    listing: Listing,
    request_no: int,
    has_reports: bool,
    direct: bool = False,
) -> Step | None:
    """How a seller answers a new request (None: it does not answer). ``direct``: the category
    takes only a TIC's validation, so the seller asks a TIC instead of uploading."""
    r = stream(seed, "answer", listing.listing_id, request_no)
    if listing.archetype is None:
        return None  # a seller of a non-toy waits for the action, then appeals (appeal_step)
    if r.random() >= seller.answers:
        return None
    lab = span(r, C.LAB_TURNAROUND_DAYS.value)
    if direct:  # no forgery path: the TIC tests or validates, and files what it found
        recent = has_reports or (request_no == 1 and r.random() < C.HAS_RECENT_REPORTS.value)
        ask: StepKind = "ask_tic" if recent and not listing.fails_test else "ask_tic_test"
        return Step(span(r, C.ASK_TIC_DAYS.value), ask)
    if listing.fails_test:
        if not seller.dishonest:
            return Step(lab, "test_failed")
        kinds = C.FORGERY_KIND.value
        kind = r.choices(sorted(kinds), weights=[kinds[k] for k in sorted(kinds)])[0]
        if kind == "edited_report":  # the real, failing report first; the edited copy later
            return Step(lab, "submit", "failing")
        return Step(lab, "submit", kind)
    recent = has_reports or (request_no == 1 and r.random() < C.HAS_RECENT_REPORTS.value)
    days = span(r, C.GATHER_DAYS.value) if recent else lab
    variant: Variant = "clean"
    if r.random() < seller.sloppy:
        variant = r.choice(["missing_report", "listing_error", "old_report"])
    return Step(days, "submit", variant)


def after_findings(
    seed: int, seller: Seller, listing: Listing, request_no: int, attempt: int, last: Variant
) -> Step | None:
    """What a seller does when its submission comes back with findings."""
    r = stream(seed, "fix", listing.listing_id, request_no, attempt)
    if last == "failing":  # the dishonest seller edits the failing report it has on file
        return Step(span(r, C.FIX_DAYS.value), "submit", "edited_report")
    if r.random() >= seller.answers:
        return None
    if last == "old_report":  # a new test at the lab
        return Step(span(r, C.LAB_TURNAROUND_DAYS.value), "submit", "clean")
    return Step(span(r, C.FIX_DAYS.value), "submit", "clean")


def after_failed_test(seed: int, listing: Listing, request_no: int) -> Step | None:
    """An honest seller whose product failed: fix it and retest, or give up."""
    r = stream(seed, "retest", listing.listing_id, request_no)
    if r.random() >= C.RETEST_AFTER_FAIL.value:
        return None
    return Step(
        span(r, C.LAB_TURNAROUND_DAYS.value) + span(r, C.FIX_PRODUCT_DAYS.value), "submit", "clean"
    )


def after_tic_findings(
    seed: int, seller: Seller, listing: Listing, request_no: int, attempt: int, failed: bool
) -> Step | None:
    """What a seller does when a TIC's validation came back with findings: a failed product is
    fixed and tested again (or given up); otherwise the TIC is asked to test afresh."""
    r = stream(seed, "tic-fix", listing.listing_id, request_no, attempt)
    if failed:
        if r.random() >= C.RETEST_AFTER_FAIL.value:
            return None
        return Step(
            span(r, C.FIX_PRODUCT_DAYS.value) + span(r, C.ASK_TIC_DAYS.value), "ask_tic_test"
        )
    if r.random() >= seller.answers:
        return None
    return Step(span(r, C.ASK_TIC_DAYS.value), "ask_tic_test")


def tic_days(seed: int, listing_id: str, job: int, test: bool) -> int:
    """How long a TIC takes once it starts a job: a test at its lab, or a review of a report."""
    r = stream(seed, "tic-days", listing_id, job)
    return span(r, C.LAB_TURNAROUND_DAYS.value if test else C.TIC_VALIDATE_DAYS.value)


def tic_choice(seed: int, listing_id: str, job: int, tics: list[str]) -> str:
    return stream(seed, "tic-choice", listing_id, job).choice(tics)


def appeal_step(seed: int, listing: Listing, request_no: int, rejected: bool) -> Step | None:
    """Appeals: a non-toy's seller once suppressed; a rejected forger, sometimes."""
    r = stream(seed, "appeal", listing.listing_id, request_no, rejected)
    if listing.archetype is None and not rejected:
        if r.random() < C.APPEAL_NOT_A_TOY.value:
            return Step(span(r, (1, 7)), "appeal_not_applicable")
        return None
    if rejected and r.random() < C.APPEAL_AFTER_REJECT.value:
        return Step(span(r, (1, 14)), "appeal_decision_wrong")
    return None


def reviewer_is_right(seed: int, case: str) -> bool:
    return stream(seed, "reviewer", case).random() < C.REVIEWER_ACCURACY.value


def complaints_today(
    seed: int, listing_id: str, day: int, non_compliant: bool
) -> list[tuple[str, str]]:
    """Genuine complaints about a live listing on a day: (reporter, text)."""
    key = "non_compliant" if non_compliant else "compliant"
    r = stream(seed, "complaint", listing_id, day)
    if r.random() >= C.COMPLAINT_RATE.value[key]:
        return []
    hazard = r.random() < C.KEYWORD_SHARE.value[key]
    text = r.choice(HAZARD_TEXTS if hazard else OTHER_TEXTS)
    return [(f"buyer-{r.randrange(10**6):06d}", text)]


def campaigns_today(seed: int, day: int, live: int) -> int:
    """How many bad-faith complaint campaigns start on a day (Poisson by the live count)."""
    r = stream(seed, "campaigns", day)
    lam = C.FALSE_CAMPAIGNS_PER_1000.value * live / 1000
    n, p, threshold = 0, 1.0, pow(2.718281828459045, -lam)
    while True:
        p *= r.random()
        if p <= threshold:
            return n
        n += 1


def campaign_target(seed: int, day: int, k: int, candidates: list[str]) -> str:
    return stream(seed, "campaign-target", day, k).choice(candidates)

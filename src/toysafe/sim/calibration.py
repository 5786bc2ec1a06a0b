"""Every figure the synthetic marketplace uses, with where it comes from.

``source`` names the reference (the team's marketplace-program reference notes, section and its
confidence mark; the project never reads them)
when a figure rests on one; ``assumption`` marks a figure no public source gave us: it is a
modelling choice, shown as such in ``metrics.json`` and the report, never as a fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Figure:
    value: Any
    source: str
    assumption: bool

    def to_dict(self) -> dict[str, Any]:
        v = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"value": v, "source": self.source, "assumption": self.assumption}


def ref(value: Any, source: str) -> Figure:
    return Figure(value, source, False)


def assume(value: Any, why: str) -> Figure:
    return Figure(value, f"assumption: {why}", True)


MP = "marketplace-program.md"

#: Reviewer SLA: Amazon forum staff quote 10-15 business days for a compliance review; the low
#: end, 10 business days, is 14 calendar days.
REVIEW_SLA_DAYS = ref(14, f"{MP} A2 'Review time' (confirmed): 10-15 business days")
#: Lab testing takes "weeks" (no figure found): 1 to 4 weeks, uniform.
LAB_TURNAROUND_DAYS = assume((7, 28), f"{MP} D5 says 'weeks of lab testing' with no figure")
#: A seller who holds recent reports needs a few days to gather and upload them.
GATHER_DAYS = assume((1, 5), "no source; a few days to find and upload documents")
#: Days a seller takes to act on a finding (fix a listing attribute, add the missing report).
FIX_DAYS = assume((1, 4), "no source")
#: Share of in-scope products that hold a passing report under a year old when first asked.
HAS_RECENT_REPORTS = assume(0.55, "no source; sellers new to the program often must test")
#: Seller tiers: (share of sellers, probability of answering a request at all, probability that a
#: submission is sloppy: a report missing, a listing attribute wrong, a report too old).
TIERS = assume(
    {
        "diligent": (0.55, 0.98, 0.10),
        "average": (0.35, 0.85, 0.30),
        "negligent": (0.10, 0.45, 0.55),
    },
    "no source; a spread of seller diligence",
)
#: Share of sellers that would forge rather than retest (reference: a forged CPC or report means
#: permanent suspension, so forgery exists; no rate is published).
DISHONEST_SHARE = assume(0.04, f"{MP} A3 names forged CPCs and reports; no rate published")
#: Share of products that would fail a test, by seller tier. scale.md notes that in a real
#: catalog violation rates are "a few percent" (unverified); negligent sellers fail more often.
NON_COMPLIANT = assume(
    {"diligent": 0.03, "average": 0.07, "negligent": 0.20},
    "scale.md 'expect a few percent' (unverified), skewed by tier",
)
#: What a dishonest seller does with a failing product: a fabricated report under a new number
#: (nothing on file to compare: undetectable by the pre-check), an edited copy of a report
#: already on file, or a certificate edited after it was signed.
FORGERY_KIND = assume(
    {"fabricated": 0.25, "edited_report": 0.35, "tampered_certificate": 0.40}, "no source"
)
#: An honest seller whose product fails a test fixes it and retests with this probability.
RETEST_AFTER_FAIL = assume(0.6, "no source")
#: Days to fix a product that failed (before it goes back to the lab or the TIC).
FIX_PRODUCT_DAYS = assume((7, 21), "no source")
#: Listings in a toy category that are not children's products (adult collectibles, decor) and
#: carry neither an age nor a linked product: the 2021 sweep hit such items.
NOT_A_TOY_SHARE = assume(0.03, f"{MP} D2 (false positives on adult collectibles); no rate")
#: A seller of a not-a-toy listing appeals ("not_applicable") once it is suppressed.
APPEAL_NOT_A_TOY = assume(0.8, "no source")
#: A seller rejected for forgery appeals anyway ("decision_wrong").
APPEAL_AFTER_REJECT = assume(0.5, "no source")
#: Reviewers overturn a justified appeal and uphold an unjustified one, with this accuracy.
REVIEWER_ACCURACY = assume(0.95, f"{MP} D 'appeal overturn rate is the accuracy measure'")
#: Genuine complaints per live listing per day: a failing product draws more, and they mention
#: a hazard; complaints about a compliant product rarely do.
COMPLAINT_RATE = assume({"non_compliant": 0.02, "compliant": 0.002}, "no source")
KEYWORD_SHARE = assume({"non_compliant": 0.8, "compliant": 0.15}, "no source")
#: Bad-faith complaint campaigns (three hazard complaints on a rival's listing within days) per
#: 1,000 live listings per day. The reference documents the abuse, not its rate.
FALSE_CAMPAIGNS_PER_1000 = assume(0.3, f"{MP} D8 'abuse of the complaint channel'; no rate")
#: Share of the catalog already listed when the program starts (the rest arrives day by day).
INITIAL_SHARE = assume(0.5, "no source; a program launched on a running marketplace")
#: Reviewers and decisions per reviewer per day.
REVIEWERS = assume(2, "no source")
REVIEWER_CAPACITY = assume(25, "no source; cases one reviewer closes in a day")

#: --- The TIC channel (direct validation, contract 8.3) -----------------------------------------
#: Approved TICs (the simulator's own two; their ids and keys are in the simulator's policy).
TIC_IDS = assume(("sim-tic-a", "sim-tic-b"), "no source; two approved TICs share the work")
#: Validations one TIC starts per day (its intake capacity for this marketplace's sellers).
TIC_CAPACITY_PER_DAY = assume(4, "no source")
#: Days a TIC takes to validate a report the seller already holds (no new test).
TIC_VALIDATE_DAYS = assume((2, 5), "no source; a review of an existing report")
#: A TIC that must test the product takes the lab turnaround (LAB_TURNAROUND_DAYS) instead.
#: Days a seller takes to find a TIC, book the validation and send samples.
ASK_TIC_DAYS = assume((1, 5), "no source")
#: What one validation costs the seller (for the report; the program does not charge it).
TIC_FEE_USD = ref(150, f"{MP} 'DV: 1 validation per ASIN, about $150 each (range 100-200)'")
#: Listing category of infant products (age grade under 12 months): where a policy may ask for
#: direct validation; every other toy is listed in toys_and_games.
INFANT_UNDER_MONTHS = assume(12, "no source; infant products listed as baby_products")

#: --- A catalog with history (the program has been running before the first simulated day) ---
#: Share of the listings already on the marketplace at the start that hold an approval from
#: before it (only products that would pass; their reports are 0-364 days old at the start,
#: uniformly, so their renewals fall due across the year and some within the run).
HISTORY_APPROVED_SHARE = assume(0.6, "no source; a program that has run for a year or more")
#: Age of the reports those approvals rest on at the start (uniform; under the 365-day limit).
HISTORY_REPORT_AGE_DAYS = assume((0, 364), "no source; approvals spread over the past year")
#: Share of sellers established on the marketplace for two to four years (the rest joined within
#: the last year): only established sellers can reach the trusted tier (P12, 730 days).
ESTABLISHED_SELLER_SHARE = assume(0.35, "no source")
#: Days on the marketplace before the start: established sellers, and the others.
SELLER_AGE_DAYS = assume({"established": (730, 1460), "new": (30, 365)}, "no source")


def all_figures() -> dict[str, dict[str, Any]]:
    """Every figure by name, for ``metrics.json`` and the report."""
    return {
        name.lower(): fig.to_dict()
        for name, fig in sorted(globals().items())
        if isinstance(fig, Figure)
    }

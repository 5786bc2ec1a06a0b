"""``toysafe program simulate``: deterministic for a seed, metrics that add up, a policy change
moving the numbers the expected way, bad input exit 2 naming the option. Small runs (seconds)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.program_seed import POLICY_FILE, policy
from toysafe.cli.app import app
from toysafe.core.program.policy import Policy
from toysafe.io.program import read_policy
from toysafe.sim.actors import SimConfig
from toysafe.sim.catalog import DEFAULT_POLICY, EXAMPLES
from toysafe.sim.engine import Simulation

runner = CliRunner()
SMALL = ["--sellers", "6", "--listings", "30", "--days", "24", "--seed", "5"]


@pytest.fixture(scope="module")
def run() -> tuple[Simulation, dict[str, Any]]:
    sim = Simulation(SimConfig(8, 50, 40, seed=11, reviewers=1, capacity=2), policy())
    return sim, sim.run()


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    for name in ("a", "b"):
        r = runner.invoke(app, ["program", "simulate", *SMALL, "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    a = (tmp_path / "a" / "metrics.json").read_bytes()
    assert a == (tmp_path / "b" / "metrics.json").read_bytes()
    doc = json.loads(a)
    assert doc["format"] == "toysafe/simulation@1" and len(doc["days"]) == 24
    html = (tmp_path / "a" / "report.html").read_text()
    for png in ("requests.png", "enforcement.png", "reviewers.png", "approvals.png"):
        assert (tmp_path / "a" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{png}"' in html
    assert "http://" not in html and "https://" not in html  # self-contained, no CDN
    r = runner.invoke(app, ["program", "simulate", *SMALL[:-1], "6", "--out", str(tmp_path / "c")])
    assert (tmp_path / "c" / "metrics.json").read_bytes() != a  # the seed matters


def test_counts_add_up(run: tuple[Simulation, dict[str, Any]]) -> None:
    _, m = run
    t, days = m["totals"], m["days"]
    for key in (
        "requests_opened",
        "approvals",
        "suppressions",
        "false_positive_suppressions",
        "removals",
        "suspensions",
        "appeals_filed",
        "appeals_overturned",
        "sla_breaches",
        "submissions",
        "reviewer_decisions",
    ):
        assert t[key] == sum(d[key] for d in days), key
    for d in days:
        assert d["requests_opened"] == sum(d["opened_by_trigger"].values())
    assert sum(t["opened_by_trigger"].values()) == t["requests_opened"]
    assert 0 < t["approvals"] <= t["requests_opened"]
    assert t["submissions"] >= t["approvals"]
    assert t["false_positive_suppressions"] <= t["suppressions"]
    assert t["appeals_overturned"] + t["appeals_upheld"] <= t["appeals_filed"]
    ttc = t["time_to_compliance_days"]
    assert ttc["count"] == t["approvals"] and ttc["median"] <= ttc["p90"]


def test_no_false_positive_for_a_non_compliant_listing(
    run: tuple[Simulation, dict[str, Any]],
) -> None:
    sim, m = run
    flagged = m["totals"]["false_positive_listings"]
    assert flagged  # the run has some (late compliant sellers, non-toys)
    end = sim.cfg.day(sim.cfg.days - 1)
    for lid in flagged:
        x = sim.listings[lid]
        fixed = sim.st.fixed_day.get(lid)
        assert x.archetype is None or not x.fails_test or (fixed is not None), lid
    assert all(sim._truth(lid, end) for lid in flagged)


def test_reviewer_capacity_is_respected(run: tuple[Simulation, dict[str, Any]]) -> None:
    sim, m = run
    cap = sim.cfg.reviewers * sim.cfg.capacity
    assert all(d["reviewer_decisions"] <= cap for d in m["days"])


def test_longer_response_window_suppresses_less() -> None:
    cfg = SimConfig(10, 60, 45, seed=3, history=False)
    short = Simulation(cfg, policy()).run()["totals"]
    data = policy().model_dump(mode="json")
    data["clocks"]["response_days"] = 45
    long = Simulation(cfg, policy(clocks=data["clocks"])).run()["totals"]
    assert long["suppressions"] < short["suppressions"]
    assert long["false_positive_suppressions"] < short["false_positive_suppressions"]


def test_review_of_every_submission_builds_a_backlog() -> None:
    cfg = SimConfig(8, 50, 30, seed=2, reviewers=1, capacity=1, history=False)
    auto = Simulation(cfg, policy()).run()["totals"]
    cats = policy().model_dump(mode="json")["categories"]
    cats["toys"]["auto_approve"] = False
    manual = Simulation(cfg, policy(categories=cats)).run()["totals"]
    assert manual["reviewer_backlog_max"] > auto["reviewer_backlog_max"]
    assert manual["sla_breaches"] >= auto["sla_breaches"]


def test_compare_writes_both_side_by_side(tmp_path: Path) -> None:
    cand = DEFAULT_POLICY.parent / "policy-candidate-30d.yaml"
    r = runner.invoke(
        app, ["program", "simulate", *SMALL, "--compare", str(cand), "--out", str(tmp_path)]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "metrics.json").read_text())
    other = json.loads((tmp_path / "candidate" / "metrics.json").read_text())
    assert doc["comparison"]["candidate"] == cand.name
    assert other["policy"]["response_days"] == 30 and doc["policy"]["response_days"] == 14
    assert "Candidate" in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--sellers", "0"], "--sellers"),
        (["--days", "0"], "--days"),
        (["--sellers", "10", "--listings", "5"], "--listings"),
        (["--start", "2026-13-01"], "--start"),
        (["--policy", "/nonexistent/policy.yaml"], "--policy"),
        (["--compare", "/nonexistent/policy.yaml"], "--compare"),
        (["--profiles", "/nonexistent"], "--profiles"),
        (["--capacity", "-1"], "--capacity"),
    ],
)
def test_bad_input_exits_2_naming_the_option(tmp_path: Path, args: list[str], option: str) -> None:
    out = tmp_path / "out"
    r = runner.invoke(app, ["program", "simulate", "--out", str(out), *args])
    assert r.exit_code == 2, r.output
    assert option in r.output
    assert not out.exists()  # nothing half-written


def test_config_days_are_dates() -> None:
    cfg = SimConfig(1, 1, 3, seed=0, start=date(2026, 3, 1))
    assert cfg.day(2) == date(2026, 3, 3) and cfg.problems() == []


# --- the TIC channel, a catalog with history, the package data ------------------------------


def sim_policy(**changes: Any) -> Policy:
    data = read_policy(DEFAULT_POLICY).model_dump(mode="json")
    data.update(changes)
    return Policy.model_validate(data)


@pytest.fixture(scope="module")
def market() -> tuple[Simulation, dict[str, Any]]:
    """The simulator's own policy (infant products by direct validation), a catalog with
    history; the catalog is small, so the trusted tier asks for 3 approvals instead of 10."""
    trusted = sim_policy().model_dump(mode="json")["trusted"]
    trusted["min_approved"] = 3
    sim = Simulation(SimConfig(10, 80, 30, seed=7), sim_policy(trusted=trusted))
    return sim, sim.run()


def test_tic_channel_approves_through_direct_validation(
    market: tuple[Simulation, dict[str, Any]],
) -> None:
    sim, m = market
    t = m["totals"]
    by = t["approvals_by_channel"]
    assert by["direct_validation"] > 0 and by["documents"] > 0
    assert sum(by.values()) == t["approvals"]
    assert (
        t["time_to_compliance_by_channel"]["direct_validation"]["count"] == by["direct_validation"]
    )
    assert 0 < t["share_approved_via_tic"] < 1
    tic = t["tic"]
    assert 0 < tic["validations_filed"] <= tic["requests"]
    assert tic["fees_usd"] == 150 * tic["validations_filed"]
    # every approval through a TIC is of a listing in the direct-validation category
    direct = {x.listing_id for x in sim.listings.values() if sim._direct(x.listing_id)}
    assert direct and all(sim.listings[lid].category == "baby_products" for lid in direct)
    assert not set(t["approved_non_compliant_listings"]) & direct  # a TIC cannot be forged


def test_tic_intake_respects_capacity(market: tuple[Simulation, dict[str, Any]]) -> None:
    from toysafe.sim import calibration as C

    sim, m = market
    cap = int(C.TIC_CAPACITY_PER_DAY.value) * len(sim.tics)
    assert sum(d["tic_started"] for d in m["days"]) > 0
    assert all(d["tic_started"] <= cap for d in m["days"])


def test_history_fires_renewal_rule_change_and_trusted(
    market: tuple[Simulation, dict[str, Any]],
) -> None:
    _, m = market
    t = m["totals"]
    renewals = t["opened_by_trigger"]["renewal"] + t["triggers_added"]["renewal"]
    rule = t["opened_by_trigger"]["rule_change"] + t["triggers_added"]["rule_change"]
    assert renewals > 0
    assert rule > 0  # 16 CFR 1250.4 (water beads) takes effect on 2026-03-12
    assert t["trusted_accounts_max"] > 0


def test_without_history_they_do_not_fire() -> None:
    trusted = sim_policy().model_dump(mode="json")["trusted"]
    trusted["min_approved"] = 3
    cfg = SimConfig(10, 80, 30, seed=7, history=False)
    t = Simulation(cfg, sim_policy(trusted=trusted)).run()["totals"]
    assert t["opened_by_trigger"]["renewal"] + t["triggers_added"]["renewal"] == 0
    assert t["trusted_accounts_max"] == 0


def test_package_data_is_the_examples() -> None:
    """The defaults live in the package (a wheel has no examples/); the copies are the
    examples, and the policy differs from the example policy only where its header says."""
    import toysafe

    pkg = Path(toysafe.__file__).parent
    assert EXAMPLES.is_relative_to(pkg) and DEFAULT_POLICY.is_relative_to(pkg)
    for src in sorted((POLICY_FILE.parents[1] / "products").glob("*.yaml")):
        assert (EXAMPLES / src.name).read_bytes() == src.read_bytes(), src.name
    ours = read_policy(DEFAULT_POLICY).model_dump(mode="json")
    theirs = read_policy(POLICY_FILE).model_dump(mode="json")
    for key in ("categories", "approved_tics"):
        ours.pop(key), theirs.pop(key)
    assert ours == theirs
    cand = read_policy(DEFAULT_POLICY.parent / "policy-candidate-30d.yaml")
    assert cand.clocks.response_days == 30
    assert cand.categories == read_policy(DEFAULT_POLICY).categories

"""``toysafe program ...`` on the command line: exit codes, strict feeds, policy versions, the
sweep's JSON (toysafe/sweep@1), requests, listing status and health; and the serve scheduler's
one-sweep-per-day claim."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.store_fixtures import DB
from toysafe.cli.app import app
from toysafe.store.db import open_store
from toysafe.store.program import models as pm
from toysafe.store.program.feeds import table
from toysafe.store.program.scheduler import run_due

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples" / "program" / "policy.yaml"
HEADER = (
    "listing_id,seller,category,title,brand,model,min_age_months,cautionary_statement,listed_on,sku"
)
runner = CliRunner()


def ts(*args: str) -> Any:
    return runner.invoke(app, list(args))


def ok(*args: str) -> Any:
    result = ts(*args)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result


def feed(tmp: Path, name: str, *rows: str, header: str = HEADER) -> str:
    path = tmp / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def started(tmp: Path) -> None:
    ok("init")
    assert ok("program", "policy", "load", str(POLICY), "--as-of", "2026-01-01").stdout.strip() == (
        "policy version 1"
    )


def count(model: Any) -> int:
    with open_store().reader() as s:
        return int(s.scalar(select(func.count()).select_from(table(model))) or 0)


def test_policy_load_is_a_no_op_for_the_same_content_and_diff(ws_env: DB, tmp_path: Path) -> None:
    started(tmp_path)
    assert ok("program", "policy", "load", str(POLICY)).stdout.strip() == "policy version 1"
    changed = tmp_path / "p2.yaml"
    changed.write_text(POLICY.read_text().replace("response_days: 14", "response_days: 21"))
    assert ok("program", "policy", "load", str(changed)).stdout.strip() == "policy version 2"
    diff = json.loads(ok("program", "policy", "diff", "1", "2", "--format", "json").stdout)
    assert diff["changes"] == [{"key": "clocks.response_days", "from": 14, "to": 21}]
    shown = json.loads(ok("program", "policy", "show", "--version", "1", "--format", "json").stdout)
    assert shown["version"] == 1 and shown["clocks"]["response_days"] == 14
    assert ts("program", "policy", "show", "--version", "9").exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY.read_text().replace("threshold: 3", "threshold: many"))
    r = ts("program", "policy", "load", str(bad))
    assert r.exit_code == 2 and "triggers.complaints.threshold" in r.stderr


def test_a_bad_feed_row_names_line_and_field_and_writes_nothing(ws_env: DB, tmp_path: Path) -> None:
    started(tmp_path)
    path = feed(
        tmp_path,
        "l.csv",
        "B0TOY00001,hoppy,toys_and_games,T,B,M,36,,2026-01-02,",
        "B0TOY00002,hoppy,toys_and_games,T,B,M,36,choking_hazard_lots,2026-01-02,",
    )
    r = ts("program", "listings", "import", path)
    assert r.exit_code == 2
    assert "l.csv: line 3: cautionary_statement" in r.stderr
    assert count(pm.ProgramListing) == 0
    bad_date = feed(tmp_path, "d.csv", "B0TOY00001,hoppy,toys_and_games,T,B,M,36,,2026-13-02,")
    r = ts("program", "listings", "import", bad_date)
    assert r.exit_code == 2 and "line 2: listed_on" in r.stderr
    jl = tmp_path / "l.jsonl"
    jl.write_text(
        json.dumps(
            {
                "listing_id": "B0TOY00009",
                "seller": "hoppy",
                "category": "toys_and_games",
                "min_age_months": 36,
                "listed_on": "2026-01-02",
            }
        )
        + "\n"
    )
    out = json.loads(ok("program", "listings", "import", str(jl), "--format", "json").stdout)
    assert out["added"] == 1
    r = ts("program", "complaints", "import", feed(tmp_path, "c.csv", "X", header="nope"))
    assert r.exit_code == 2 and "missing column" in r.stderr


def test_sweep_requests_listing_and_health_as_json(ws_env: DB, tmp_path: Path) -> None:
    started(tmp_path)
    ok(
        "program",
        "listings",
        "import",
        feed(tmp_path, "l.csv", "B0TOY00001,hoppy,toys_and_games,T,B,M,36,,2026-01-02,"),
    )
    out = json.loads(ok("program", "sweep", "--as-of", "2026-01-05", "--format", "json").stdout)
    assert out["format"] == "toysafe/sweep@1" and out["policy_version"] == 1
    assert out["opened"] == [
        {"request": "REQ-000001", "listing_id": "B0TOY00001", "triggers": ["new_listing"]}
    ]
    assert set(out) >= {"as_of", "updated", "reminded", "actions", "accounts"}
    late = json.loads(ok("program", "sweep", "--as-of", "2026-01-20", "--format", "json").stdout)
    assert late["actions"][0]["reasons"]["rule"] == "ladder[0]"
    (req,) = json.loads(
        ok(
            "program", "requests", "--seller", "hoppy", "--format", "json", "--as-of", "2026-01-20"
        ).stdout
    )
    assert req["format"] == "toysafe/request@1" and req["overdue"] is True
    assert [h["event"] for h in req["history"]] == ["opened", "overdue"]
    status = json.loads(ok("program", "listing", "B0TOY00001", "--format", "json").stdout)
    assert status["format"] == "toysafe/listing-status@1" and status["state"] == "suppressed"
    assert status["actions"][0]["reasons"]["policy_version"] == 1
    h = json.loads(
        ok("program", "health", "hoppy", "--format", "json", "--as-of", "2026-01-20").stdout
    )
    assert (h["format"], h["score"], h["band"], h["state"]) == (
        "toysafe/account-health@1",
        900,
        "healthy",
        "active",
    )
    assert h["trusted"] is False  # the CLI is the marketplace's own view
    assert ts("program", "requests", "--state", "lost").exit_code == 2
    assert ts("program", "listing", "B0NOPE").exit_code == 2
    assert ts("program", "sweep", "--policy", str(POLICY)).exit_code == 2  # needs --dry-run
    dry = json.loads(
        ok("program", "sweep", "--as-of", "2026-03-01", "--dry-run", "--format", "json").stdout
    )
    assert dry["dry_run"] is True and [a["action"] for a in dry["actions"]] == ["removed"]
    assert (
        json.loads(ok("program", "listing", "B0TOY00001", "--format", "json").stdout)["state"]
        == "suppressed"
    )


def test_serve_sweeps_once_a_day_whatever_the_workers(ws_env: DB, tmp_path: Path) -> None:
    started(tmp_path)
    ok(
        "program",
        "listings",
        "import",
        feed(tmp_path, "l.csv", "B0TOY00001,hoppy,toys_and_games,T,B,M,36,,2026-01-02,"),
    )
    store = open_store()
    morning = datetime(2026, 1, 5, 1, 0)
    assert run_due(store, morning, 2, "w1") is False  # before the hour
    noon = datetime(2026, 1, 5, 12, 0)
    assert [run_due(store, noon, 2, w) for w in ("w1", "w2", "w3")] == [True, False, False]
    assert count(pm.Request) == 1
    with store.reader() as s:
        (run,) = s.execute(select(table(pm.SweepRun))).all()
    assert run.worker == "w1" and run.finished is True

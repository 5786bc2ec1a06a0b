"""The workspace on SQLite and PostgreSQL: versions, evidence graph, status, due dates, impact,
transactions and concurrency."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.store_fixtures import DB
from toysafe.cli.app import app
from toysafe.store import models as m

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
STACKER = EX / "products" / "painted-wooden-stacker.yaml"
CHEM = EX / "reports" / "stacker-chemistry-pass.json"
MECH = EX / "reports" / "stacker-mechanical-pass.csv"
AS_OF = "2026-11-21"
runner = CliRunner()


def ts(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    return result


def ok(*args: str) -> Any:
    result = ts(*args)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result


@pytest.fixture
def ws(ws_env: DB) -> DB:
    ok("init", "--party", str(EX / "party.yaml"))
    ok("labs", "import", str(EX / "labs.csv"), "--as-of", AS_OF)
    return ws_env


def count(db: DB, model: Any) -> int:
    with db.engine.connect() as c:
        return int(c.scalar(select(func.count()).select_from(model)) or 0)


def status_of(sku: str, as_of: str = AS_OF) -> dict[str, Any]:
    doc = json.loads(ok("status", "--as-of", as_of, "--format", "json").stdout)
    return next(p for p in doc["products"] if p["sku"] == sku)


def write_profile(tmp_path: Path, data: dict[str, Any], name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_init_migrates_from_empty_and_the_models_match_the_migrations(empty_ws_env: DB) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    ok("init")
    again = ok("init")
    assert "updated workspace" in again.stdout
    with empty_ws_env.engine.connect() as c:
        diffs = compare_metadata(MigrationContext.configure(c), m.Base.metadata)
    assert diffs == []


def test_commands_refuse_a_workspace_that_was_not_initialised(empty_ws_env: DB) -> None:
    result = ts("status")
    assert result.exit_code == 2 and "toysafe init" in result.stderr


def test_profiles_are_versioned_never_overwritten(ws: DB, tmp_path: Path) -> None:
    out = ok("product", "add", str(STACKER)).stdout
    assert "MM-STK-07: added (version 1)" in out
    assert "unchanged (version 1)" in ok("product", "add", str(STACKER)).stdout
    data = yaml.safe_load(STACKER.read_text())
    data["components"][2]["material"] = "ink_other"  # the red paint supplier changed
    changed = ok("product", "add", str(write_profile(tmp_path, data))).stdout
    assert "new version (version 2; material change: paint-red changed)" in changed
    assert count(ws, m.ProductVersion) == 2
    first = ok("product", "show", "MM-STK-07", "--version", "1").stdout
    assert "material: surface_coating" in first
    history = json.loads(ok("product", "show", "MM-STK-07", "--history").stdout)
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert history["versions"][1]["changes"] == [
        {"component": "paint-red", "change": "changed", "fields": ["material"]}
    ]
    assert [e["kind"] for e in history["events"]] == ["product.add", "product.version"]


def test_one_report_covers_several_skus_models_and_gtins(ws: DB, tmp_path: Path) -> None:
    base = yaml.safe_load(STACKER.read_text())
    for i, colour in enumerate(("pastel", "mono")):
        data = {
            **copy.deepcopy(base),
            "sku": f"MM-STK-{colour}",
            "gtin": None,
            "model": f"MM-STK-{i}",
        }
        ok("product", "add", str(write_profile(tmp_path, data, f"{colour}.yaml")))
    chem = json.loads(CHEM.read_text())
    chem["products"] = [{"sku": "MM-STK-pastel"}, {"model": "MM-STK-1"}]
    (tmp_path / "chem.json").write_text(json.dumps(chem))
    mech = MECH.read_text().replace(
        "sku=MM-STK-07,model=MM-STK-07", "sku=MM-STK-pastel;model=MM-STK-1"
    )
    (tmp_path / "mech.csv").write_text(mech)
    ok("report", "add", str(tmp_path / "chem.json"), str(tmp_path / "mech.csv"), "--as-of", AS_OF)
    assert status_of("MM-STK-pastel")["status"] == "ready_to_certify"
    assert status_of("MM-STK-mono")["status"] == "ready_to_certify"  # named by model
    assert count(ws, m.ReportProduct) == 4


def test_reports_are_idempotent_and_conflicts_change_nothing(ws: DB, tmp_path: Path) -> None:
    ok("product", "add", str(STACKER))
    assert "2 reports added" in ok("report", "add", str(CHEM), str(MECH), "--as-of", AS_OF).stdout
    assert (
        "0 reports added, 2 already stored"
        in ok("report", "add", str(CHEM), str(MECH), "--as-of", AS_OF).stdout
    )
    changed = json.loads(CHEM.read_text())
    changed["results"][0]["value"] = 13
    (tmp_path / "changed.json").write_text(json.dumps(changed))
    other = json.loads(CHEM.read_text())
    other["report_no"] = "NEW-1"
    (tmp_path / "other.json").write_text(json.dumps(other))
    result = ts(
        "report",
        "add",
        str(tmp_path / "other.json"),
        str(tmp_path / "changed.json"),
        "--as-of",
        AS_OF,
    )
    assert result.exit_code == 2 and "already stored with different content" in result.stderr
    assert count(ws, m.Report) == 2  # NEW-1 was not half-imported
    assert count(ws, m.Result) == sum(len(json.loads(CHEM.read_text())["results"]) for _ in [0]) + 5


def test_a_failure_in_the_middle_leaves_the_previous_state(
    ws: DB, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok("product", "add", str(STACKER))
    from toysafe.store.workspace import Workspace

    def crash(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Workspace, "refresh", crash)
    result = ts("report", "add", str(CHEM), str(MECH), "--as-of", AS_OF)
    assert result.exit_code != 0
    monkeypatch.undo()
    assert count(ws, m.Report) == 0 and count(ws, m.Result) == 0 and count(ws, m.Event) == 3


def test_certify_from_the_workspace_and_the_status_over_time(ws: DB, tmp_path: Path) -> None:
    ok("product", "add", str(STACKER))
    missing = status_of("MM-STK-07")
    assert missing["status"] == "missing_evidence" and "missing" in missing["action"]
    ok("report", "add", str(CHEM), str(MECH), "--as-of", AS_OF)
    assert status_of("MM-STK-07")["status"] == "ready_to_certify"
    out = tmp_path / "certs"
    result = ok("certify", "MM-STK-07", "--as-of", AS_OF, "--lot", "L1", "--out", str(out))
    assert "CPC-MM-STK-07-20261121-V1 (version 1) stored" in result.stdout
    assert (out / "MM-STK-07.cpc.pdf").exists()
    assert count(ws, m.CertificateReport) == 2 and count(ws, m.Lot) == 1
    certified = status_of("MM-STK-07")
    assert certified["status"] == "certified" and certified["valid_until"] == "2027-06-12"
    assert status_of("MM-STK-07", "2027-05-01")["status"] == "expiring"
    assert status_of("MM-STK-07", "2027-06-13")["status"] == "expired"
    again = ok("certify", "MM-STK-07", "--as-of", "2026-11-22", "--out", str(out)).stdout
    assert "(version 2) stored" in again
    data = yaml.safe_load(STACKER.read_text())
    data["components"][2]["name"] = "Red paint from a new supplier"
    data["components"][2]["material"] = "ink_other"
    ok("product", "add", str(write_profile(tmp_path, data)), "--as-of", AS_OF)
    changed = status_of("MM-STK-07")
    assert changed["status"] == "action_needed" and "profile changed" in changed["action"]
    history = json.loads(ok("product", "show", "MM-STK-07", "--history").stdout)
    assert not history["state"]["certifiable"]  # the old red-paint evidence no longer counts


def test_certify_refuses_what_the_evidence_does_not_support(ws: DB) -> None:
    ok("product", "add", str(STACKER))
    result = ts("certify", "MM-STK-07", "--as-of", AS_OF)
    assert result.exit_code == 1 and "not certified" in result.stderr
    assert count(ws, m.Certificate) == 0


def test_due_dates_and_the_calendar(ws: DB, tmp_path: Path) -> None:
    from icalendar import Calendar

    ok("product", "add", str(STACKER), str(EX / "products" / "rc-drone.yaml"))
    ok("report", "add", str(CHEM), str(MECH), "--as-of", AS_OF)
    ok("certify", "--all", "--as-of", AS_OF, "--out", str(tmp_path / "c"))
    ics = tmp_path / "due.ics"
    soon = ok("due", "--within", "60d", "--as-of", AS_OF, "--ics", str(ics)).stdout
    assert "0 items due" in soon
    later = json.loads(
        ok(
            "due", "--within", "400d", "--as-of", AS_OF, "--format", "json", "--ics", str(ics)
        ).stdout
    )
    items = {(i["sku"], i["next_due"], i["next_due_reason"]) for i in later["items"]}
    assert ("MM-STK-07", "2027-06-10", "periodic testing (16 CFR 1107.21)") in items
    # Issue 10: labelled as marketplace policy (a CPC has no legal expiry).
    renewal = "marketplace renewal (policy; a CPC has no legal expiry)"
    assert ("SK-DRN-M2", "2027-11-21", renewal) in items
    cal = Calendar.from_ical(ics.read_bytes())
    events = list(cal.walk("VEVENT"))
    assert {str(e["summary"]) for e in events} == {
        "MM-STK-07: periodic testing (16 CFR 1107.21)",
        f"SK-DRN-M2: {renewal}",
    }
    bad = ts("due", "--within", "soon")
    assert bad.exit_code == 2 and "--within" in bad.stderr


def test_impact_lists_rule_changes_and_outdated_certificates(ws: DB, tmp_path: Path) -> None:
    data = yaml.safe_load(STACKER.read_text())
    data["manufactured"] = "2023-09"
    ok("product", "add", str(write_profile(tmp_path, data)), "--as-of", "2024-01-10")
    old = json.loads(CHEM.read_text())
    tested = {"from": "2023-10-01", "to": "2023-10-10", "place": "Ningbo, CN"}
    old.update({"issued": "2023-10-12", "standard": "F963-17", "tested": tested})
    (tmp_path / "old.json").write_text(json.dumps(old))
    mech = (
        MECH.read_text()
        .replace("2026-06-12", "2023-10-12")
        .replace("2026-06-03", "2023-10-03")
        .replace("2026-06-09", "2023-10-09")
        .replace("F963-23", "F963-17")
    )
    (tmp_path / "old.csv").write_text(mech)
    ok(
        "report",
        "add",
        str(tmp_path / "old.json"),
        str(tmp_path / "old.csv"),
        "--as-of",
        "2024-01-10",
    )
    ok(
        "certify",
        "MM-STK-07",
        "--as-of",
        "2024-01-10",
        "--lot",
        "L2309",
        "--out",
        str(tmp_path / "c"),
    )
    ok("lot", "MM-STK-07", "L2405", "--made", "2024-05")
    doc = json.loads(
        ok("impact", "--from", "2024-01-01", "--to", "2024-06-01", "--format", "json").stdout
    )
    (item,) = [i for i in doc["changed"] if i["sku"] == "MM-STK-07"]
    assert item["toy_standard"] == {"from": "F963-17", "to": "F963-23"}
    (cert,) = item["certificates"]
    assert cert["cites"] == "F963-17" and cert["in_force"] == "F963-23"
    assert cert["lots_made_since"] == ["L2405"]
    text = ok("impact", "--from", "2024-01-01", "--to", "2024-06-01").stdout
    assert "certificate CPC-MM-STK-07-20240110-V1 cites F963-17" in text


def test_listings_join_the_status(ws: DB, tmp_path: Path) -> None:
    ok("product", "add", str(STACKER))
    listings = tmp_path / "listings.txt"
    listings.write_text(
        "item-name\tseller-sku\tasin1\tstatus\n"
        "Rainbow stacker\tMM-STK-07\tB0CW00DST7\tActive\n"
        "Mystery toy\tNO-PROFILE-1\tB0CW00ZZZ1\tActive\n"
    )
    ok("listings", "import", str(listings))
    assert status_of("MM-STK-07")["listings"] == ["B0CW00DST7"]
    assert status_of("NO-PROFILE-1")["status"] == "no_profile"
    assert "0 added, 0 updated" in ok("listings", "import", str(listings)).stdout
    bad = tmp_path / "bad.txt"
    bad.write_text("seller-sku\tasin1\nA\tB0CW00AAA1\nB\tnot-an-asin\n")
    result = ts("listings", "import", str(bad))
    assert result.exit_code == 2 and "line 3" in result.stderr
    assert count(ws, m.Listing) == 2


WRITER = """
import json, sys
from datetime import date
from pathlib import Path
from toysafe.core.evidence.labreport import LabReport
from toysafe.store.db import open_store
from toysafe.store.workspace import Workspace
base = json.loads(Path(sys.argv[1]).read_text())
ws = Workspace(open_store())
for i in range(int(sys.argv[3])):
    doc = dict(base, report_no=f"{sys.argv[2]}-{i}")
    ws.add_reports([(f"w{i}", LabReport.model_validate(doc))], date(2026, 11, 21))
"""


def test_two_processes_adding_reports_at_once_lose_nothing(ws: DB) -> None:
    ok("product", "add", str(STACKER))
    env = {**os.environ}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(CHEM), name, "15"], env=env, stderr=subprocess.PIPE
        )
        for name in ("A", "B")
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    assert count(ws, m.Report) == 30
    assert count(ws, m.Event) >= 30 + 3


def test_evidence_of_one_organization_never_counts_for_another(ws: DB) -> None:
    ok("product", "add", str(STACKER))
    ok("report", "add", str(CHEM), str(MECH), "--as-of", AS_OF)  # the default organization's
    ok("init", "--org", "other")
    ok("product", "add", str(STACKER), "--org", "other", "--as-of", AS_OF)
    mine = json.loads(ok("status", "--as-of", AS_OF, "--format", "json").stdout)
    theirs = json.loads(ok("status", "--as-of", AS_OF, "--format", "json", "--org", "other").stdout)
    assert mine["products"][0]["status"] == "ready_to_certify"
    assert theirs["products"][0]["status"] == "missing_evidence"

"""``toysafe program tic-key new``, ``validations sign``, ``validations add`` and ``extend``."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.store_fixtures import DB
from tests.validation_helpers import LISTING, Tic, document, seed
from toysafe.cli.app import app
from toysafe.core.program.validation import parse_public_key
from toysafe.io.validations import read_private_key
from toysafe.store.db import migrate

runner = CliRunner()


def ts(*args: str) -> Any:
    return runner.invoke(app, list(args))


def new_tic(tmp_path: Path, tic_id: str = "sgs-us") -> tuple[Tic, Path]:
    key = tmp_path / f"{tic_id}.pem"
    r = ts("program", "tic-key", "new", "--out", str(key))
    assert r.exit_code == 0, r.output
    public = r.stdout.strip().splitlines()[0]
    parse_public_key(public)  # the policy's form: ed25519: + base64 of 32 bytes
    return Tic(tic_id, tic_id, ("1001",), public, read_private_key(key)), key


def test_tic_key_new_writes_a_private_key_once(tmp_path: Path) -> None:
    tic, key = new_tic(tmp_path)
    assert tic.public_key.startswith("ed25519:")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = ts("program", "tic-key", "new", "--out", str(key))
    assert again.exit_code == 2 and "already exists" in again.output


def test_sign_refuses_an_invalid_document(tmp_path: Path) -> None:
    tic, key = new_tic(tmp_path)
    draft = tmp_path / "draft.json"
    bad = document(tic)
    bad["revision"] = "one"
    draft.write_text(json.dumps(bad))
    r = ts("program", "validations", "sign", str(draft), "--key", str(key))
    assert r.exit_code == 2 and "revision" in r.output


@pytest.fixture
def market(ws_env: DB, tmp_path: Path) -> tuple[Tic, Path]:
    migrate(ws_env.engine)
    tic, key = new_tic(tmp_path)
    seed(ws_env.store(), [tic], evidence="documents")
    return tic, key


def test_sign_then_add_then_replay_and_extend(market: tuple[Tic, Path], tmp_path: Path) -> None:
    tic, key = market
    draft, signed = tmp_path / "draft.json", tmp_path / "signed.json"
    draft.write_text(json.dumps(document(tic, revision=1), indent=2))
    r = ts("program", "validations", "sign", str(draft), "--key", str(key), "--out", str(signed))
    assert r.exit_code == 0, r.output
    assert b"\n" not in signed.read_bytes()  # one canonical line
    r = ts("program", "validations", "add", str(signed), "--as-of", "2026-02-10")
    assert r.exit_code == 0, r.output
    assert f"filed: TRF-2026-000123 revision 1 from sgs-us for {LISTING} (new)" in r.stdout
    r = ts(
        "program", "validations", "add", str(signed), "--as-of", "2026-02-10", "--format", "json"
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["unchanged"] is True

    draft.write_text(json.dumps(document(tic, revision=0)))
    ts("program", "validations", "sign", str(draft), "--key", str(key), "--out", str(signed))
    r = ts(
        "program", "validations", "add", str(signed), "--as-of", "2026-02-10", "--format", "json"
    )
    assert r.exit_code == 1
    assert json.loads(r.stdout)["refusal"]["code"] == "replayed_revision"

    r = ts("program", "extend", "REQ-000001", "--tic", "sgs-us", "--as-of", "2026-02-10")
    assert r.exit_code == 0, r.output
    assert "due 2026-02-03 -> 2026-04-04" in r.stdout
    r = ts("program", "extend", "REQ-000001", "--tic", "sgs-us", "--as-of", "2026-02-11")
    assert r.exit_code == 1 and "one TIC extension" in r.stdout
    r = ts("program", "extend", "REQ-000404", "--tic", "sgs-us")
    assert r.exit_code == 2 and "no request REQ-000404" in r.output


def test_add_tampered_and_bad_input(market: tuple[Tic, Path], tmp_path: Path) -> None:
    tic, key = market
    draft, signed = tmp_path / "draft.json", tmp_path / "signed.json"
    draft.write_text(json.dumps(document(tic)))
    ts("program", "validations", "sign", str(draft), "--key", str(key), "--out", str(signed))
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(signed.read_bytes().replace(b'"revision":0', b'"revision":7'))
    r = ts("program", "validations", "add", str(tampered), "--as-of", "2026-02-10")
    assert r.exit_code == 1 and "refused" in r.stdout and "signature does not verify" in r.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(signed.read_text()), "overall": "maybe"}))
    r = ts("program", "validations", "add", str(bad), "--as-of", "2026-02-10")
    assert r.exit_code == 2 and "overall" in r.output


def test_end_to_end_the_example_validation_approves_the_stacker(ws_env: DB, tmp_path: Path) -> None:
    """The marketplace loads a direct-validation policy, imports its listings, sweeps (a
    new_listing request opens), and files the example validation the demo TIC signed: the
    request is approved and the listing active."""
    import yaml

    ex = Path(__file__).parent.parent / "examples"
    policy = yaml.safe_load((ex / "program" / "policy.yaml").read_text())
    policy["categories"]["toys"]["evidence"] = "direct_validation"
    path = tmp_path / "policy-dv.yaml"
    path.write_text(yaml.safe_dump(policy))
    steps = [
        ("init", "--party", str(ex / "party.yaml")),
        ("labs", "import", str(ex / "labs.csv")),
        ("program", "policy", "load", str(path), "--as-of", "2026-11-01"),
        (
            "program",
            "listings",
            "import",
            str(ex / "program" / "listings.csv"),
            "--as-of",
            "2026-11-01",
        ),
        ("program", "sweep", "--as-of", "2026-11-02"),
    ]
    for step in steps:
        r = ts(*step)
        assert r.exit_code == 0, f"{step}: {r.output}"
    example = ex / "program" / "validation-stacker.json"
    r = ts(
        "program", "validations", "add", str(example), "--as-of", "2026-11-06", "--format", "json"
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["counts"] and out["findings"] == []
    [fed] = out["requests"]
    assert fed["listing_id"] == "B0CW00DST7" and fed["state"] == "approved", fed
    r = ts("program", "listing", "B0CW00DST7", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["state"] == "active"

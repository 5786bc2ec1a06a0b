"""A backup is the whole workspace: users, API tokens, lab shares, enrollments and the keys
(encrypted, or left out on purpose and said so); restored across SQLite and PostgreSQL both
ways, the workspace answers logins and tokens and has the same status. Certificate ids are
unique across organizations."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.store_fixtures import DB, pg_enabled
from toysafe.cli.app import app
from toysafe.core.certificates import seal
from toysafe.io.keys import load_or_create
from toysafe.io.labs import read_labs
from toysafe.io.profiles import read_profile
from toysafe.io.reports import read_reports
from toysafe.store.accounts import Accounts
from toysafe.store.db import migrate
from toysafe.store.workspace import Workspace
from toysafe.usecases.certify import certify_stored, read_party

EX = Path(__file__).resolve().parent.parent / "examples"
AS_OF = date(2026, 11, 21)
STACKER = "MM-STK-07"
PASSWORD = "correct horse battery"
runner = CliRunner()


def _lab_rows():  # type: ignore[no-untyped-def]
    from tests.test_portable import lab_rows

    return lab_rows(read_labs(EX / "labs.csv"))


def build(db: DB) -> str:
    """Two organizations with products, reports, users, a token, a share and an enrollment;
    returns the token."""
    store = db.store()
    ws = Workspace(store, who="alice")
    ws.init(party=yaml.safe_load((EX / "party.yaml").read_text(encoding="utf-8")))
    ws.import_labs(_lab_rows(), AS_OF)
    ws.add_profiles([read_profile(p) for p in sorted((EX / "products").glob("*.yaml"))], AS_OF)
    ws.add_reports(
        read_reports(
            [
                EX / "reports" / "stacker-chemistry-pass.json",
                EX / "reports" / "stacker-mechanical-pass.csv",
            ]
        ),
        AS_OF,
    )
    Workspace(store, "market", who="bob").init(name="A marketplace")
    accounts = Accounts(store)
    accounts.add_user("seller@maple.example", "default", "seller", PASSWORD)
    accounts.add_user("lab@etc.example", "default", "lab", PASSWORD, lab_cpsc_id="1234")
    accounts.add_user("reviewer@market.example", "market", "reviewer", PASSWORD)
    accounts.share("default", STACKER, "1234")
    accounts.enroll("market", "default")
    return accounts.new_token("seller@maple.example", "script")


PAIRS = [("sqlite", "postgresql"), ("postgresql", "sqlite")]


@pytest.fixture(params=PAIRS, ids=lambda p: f"{p[0]}-to-{p[1]}")
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[DB, DB]]:
    if not pg_enabled():
        pytest.skip("TOYSAFE_TEST_POSTGRES=0")
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    a, b = DB(request.param[0], a_dir), DB(request.param[1], b_dir)
    try:
        migrate(a.engine)
        yield a, b
    finally:
        a.drop()
        b.drop()


def test_backup_and_restore_keep_web_access_and_keys_across_databases(
    pair: tuple[DB, DB], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = pair
    monkeypatch.delenv("TOYSAFE_SIGNING_KEY", raising=False)
    monkeypatch.delenv("TOYSAFE_SESSION_SECRET", raising=False)
    token = build(source)
    home_a, home_b = tmp_path / "ws-a", tmp_path / "ws-b"
    key, _ = load_or_create(home_a)
    (home_a / ".toysafe").mkdir(exist_ok=True)
    (home_a / ".toysafe" / "session.key").write_text("session-secret-of-a\n")
    before = [s.to_dict() for s in Workspace(source.store()).statuses(AS_OF)]
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("a long backup passphrase\n")
    file = tmp_path / "ws.zip"

    monkeypatch.setenv("TOYSAFE_DATABASE_URL", source.url)
    result = runner.invoke(
        app, ["backup", str(file), "--workspace", str(home_a), "--passphrase-file", str(passphrase)]
    )
    assert result.exit_code == 0, result.output
    assert "3 users, 1 api tokens, 1 lab shares, 1 enrollments" in result.stdout

    monkeypatch.setenv("TOYSAFE_DATABASE_URL", target.url)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase\n")
    result = runner.invoke(
        app, ["restore", str(file), "--workspace", str(home_b), "--passphrase-file", str(wrong)]
    )
    assert result.exit_code == 2 and "wrong passphrase" in result.stderr
    assert not (home_b / ".toysafe" / "keys" / "signing.pem").exists()
    result = runner.invoke(
        app,
        ["restore", str(file), "--workspace", str(home_b), "--passphrase-file", str(passphrase)],
    )
    assert result.exit_code == 0, result.output
    assert "keys restored: keys/signing.crt, keys/signing.pem, session.key" in result.stdout

    store = target.store()
    accounts = Accounts(store)
    seller = accounts.authenticate("seller@maple.example", PASSWORD)
    assert seller is not None and seller.role == "seller" and seller.org_slug == "default"
    assert accounts.authenticate("seller@maple.example", "wrong password!") is None
    by_token = accounts.by_token(token)
    assert by_token is not None and by_token.email == "seller@maple.example"
    lab = accounts.authenticate("lab@etc.example", PASSWORD)
    assert lab is not None and lab.lab_cpsc_id == "1234"
    assert [s.to_dict() for s in Workspace(store).statuses(AS_OF)] == before
    restored_key, created = load_or_create(home_b)
    assert not created and restored_key.public.public_bytes_raw() == key.public.public_bytes_raw()
    assert (home_b / ".toysafe" / "session.key").read_text() == "session-secret-of-a\n"
    # A second round trip, back the other way, is the same workspace again.
    again = tmp_path / "again.zip"
    result = runner.invoke(
        app, ["backup", str(again), "--workspace", str(home_b), "--without-keys"]
    )
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("TOYSAFE_DATABASE_URL", source.url)
    result = runner.invoke(
        app, ["restore", str(again), "--force", "--workspace", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    assert "keys NOT restored (not in this backup: left out on purpose (--without-keys))" in (
        " ".join(result.stderr.split())
    )
    assert [s.to_dict() for s in Workspace(source.store()).statuses(AS_OF)] == before
    assert Accounts(source.store()).by_token(token) is not None


def test_without_a_passphrase_backup_refuses_unless_the_keys_are_left_out_on_purpose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOYSAFE_SIGNING_KEY", raising=False)
    monkeypatch.delenv("TOYSAFE_BACKUP_PASSPHRASE", raising=False)
    db = DB("sqlite", tmp_path)
    migrate(db.engine)
    build(db)
    home = tmp_path / "ws"
    key, _ = load_or_create(home)
    doc, _ = certify_stored(
        Workspace(db.store(), who="t"), STACKER, read_party(EX / "party.yaml"), key, AS_OF
    )
    cert = tmp_path / "cpc.json"
    cert.write_text(json.dumps(doc))
    monkeypatch.setenv("TOYSAFE_DATABASE_URL", db.url)
    file = tmp_path / "b.zip"
    result = runner.invoke(app, ["backup", str(file), "--workspace", str(home)])
    assert result.exit_code == 2, result.output
    for option in ("--passphrase-file", "TOYSAFE_BACKUP_PASSPHRASE", "--without-keys"):
        assert option in result.stderr
    assert not file.exists() and not list(tmp_path.glob(".toysafe-backup-*"))

    result = runner.invoke(app, ["backup", str(file), "--workspace", str(home), "--without-keys"])
    assert result.exit_code == 0, result.output
    assert "keys not included (left out on purpose (--without-keys))" in result.stderr
    recorded = json.loads(zipfile.ZipFile(file).read("keys.json"))
    assert recorded["included"] is False and "--without-keys" in recorded["reason"]
    assert sorted(recorded["public"]) == ["keys/signing.crt"]  # no private key in the clear
    assert "PRIVATE KEY" not in zipfile.ZipFile(file).read("keys.json").decode()

    elsewhere = tmp_path / "w2"
    result = runner.invoke(app, ["restore", str(file), "--force", "--workspace", str(elsewhere)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "keys NOT restored (not in this backup: left out on purpose (--without-keys))" in said
    assert "a new signing key is made at the next certificate" in said
    assert f"by keys now trusted: old signing key {seal.key_id(key.public)} for Maple" in said
    assert "users sign in again" in said
    # A certificate issued before the backup verifies in the restored workspace: its key is
    # trusted for the certifier it names (not merely because the document carries a key).
    verified = runner.invoke(
        app,
        ["certificate", "verify", str(cert), "--workspace", str(elsewhere)],
        env={"TOYSAFE_SIGNING_KEY": None},
    )
    assert verified.exit_code == 0, verified.output
    assert "registered for Maple" in verified.output
    db.drop()


def test_two_organizations_certifying_the_same_sku_the_same_day_do_not_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOYSAFE_SIGNING_KEY", raising=False)
    db = DB("sqlite", tmp_path)
    migrate(db.engine)
    store = db.store()
    party = read_party(EX / "party.yaml")
    key, _ = load_or_create(tmp_path / "keys")
    ids = []
    for org in ("default", "copycat"):
        ws = Workspace(store, org, who="t")
        ws.init(party=party.model_dump(exclude_none=True))
        ws.import_labs(_lab_rows(), AS_OF)
        ws.add_profiles([read_profile(EX / "products" / "painted-wooden-stacker.yaml")], AS_OF)
        ws.add_reports(
            read_reports(
                [
                    EX / "reports" / "stacker-chemistry-pass.json",
                    EX / "reports" / "stacker-mechanical-pass.csv",
                ]
            ),
            AS_OF,
        )
        doc, _ = certify_stored(ws, STACKER, party, key, AS_OF)
        ids.append(doc["certificate"]["id"])
    assert ids[0] == "CPC-MM-STK-07-20261121-V1"
    assert ids[1].startswith("CPC-MM-STK-07-20261121-V1-") and ids[1] != ids[0]
    assert Workspace(store, "copycat").certificate(ids[1])[0]["certificate"]["id"] == ids[1]
    db.drop()

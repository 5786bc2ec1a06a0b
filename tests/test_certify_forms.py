"""`certify` says what it was given: a profile file (the contract's form) or a stored SKU
(`--sku`), and a mistyped path is named as such."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.store_fixtures import DB
from toysafe.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
STACKER = EX / "products" / "painted-wooden-stacker.yaml"
CHEM = EX / "reports" / "stacker-chemistry-pass.json"
MECH = EX / "reports" / "stacker-mechanical-pass.csv"
runner = CliRunner()


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOYSAFE_HOME", str(tmp_path / "no-workspace"))
    monkeypatch.delenv("TOYSAFE_DATABASE_URL", raising=False)
    return tmp_path


def _files(*names: str) -> list[str]:
    return [
        *names,
        "--reports",
        str(CHEM),
        str(MECH),
        "--labs",
        str(EX / "labs.csv"),
        "--party",
        str(EX / "party.yaml"),
        "--out",
        "out",
    ]


def test_a_mistyped_profile_path_is_named_not_taken_for_a_sku(nowhere: Path) -> None:
    typo = str(EX / "products" / "painted-wooden-stakcer.yaml")
    result = runner.invoke(app, ["certify", *_files(typo)])
    assert result.exit_code == 2
    assert f"{typo}: no such profile file or folder" in result.stderr
    assert "toysafe init" not in result.stderr


def test_a_path_without_the_file_options_suggests_sku(nowhere: Path) -> None:
    result = runner.invoke(app, ["certify", "profiles/stacker.yaml"])
    assert result.exit_code == 2
    assert "profiles/stacker.yaml: no such profile file or folder" in result.stderr
    assert "--sku" in result.stderr


def test_a_bare_name_without_a_workspace_says_both(nowhere: Path) -> None:
    result = runner.invoke(app, ["certify", "MM-STK-07"])
    assert result.exit_code == 2
    assert "MM-STK-07: no such profile file or folder, and no workspace" in result.stderr


def test_profile_and_sku_together_are_refused(nowhere: Path) -> None:
    result = runner.invoke(app, ["certify", str(STACKER), "--sku", "MM-STK-07"])
    assert result.exit_code == 2 and "not both" in result.stderr


def test_certify_sku_from_the_workspace(ws_env: DB, tmp_path: Path) -> None:
    def ok(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    ok("init", "--party", str(EX / "party.yaml"))
    ok("labs", "import", str(EX / "labs.csv"), "--as-of", "2026-11-21")
    ok("product", "add", str(STACKER))
    ok("report", "add", str(CHEM), str(MECH), "--as-of", "2026-11-21")
    out = ok("certify", "--sku", "MM-STK-07", "--as-of", "2026-11-21", "--out", str(tmp_path / "c"))
    assert "MM-STK-07: CPC" in out and "(version 1) stored" in out

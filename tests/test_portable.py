"""Workspace portability: export -> import -> export is exact, imports are all or nothing, and
backup / restore work through the CLI; every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from tests.store_fixtures import DB
from toysafe.cli.app import app
from toysafe.core.evidence.labs import LabRegistry, LabRow
from toysafe.io.errors import InputError
from toysafe.io.keys import load_or_create
from toysafe.io.labs import COLUMNS, OPTIONAL, read_labs
from toysafe.io.profiles import profile_from_data, read_profile
from toysafe.io.reports import read_reports
from toysafe.store import models as m
from toysafe.store import portable
from toysafe.store.db import Store, migrate
from toysafe.store.portable import backup, export_workspace, import_workspace, restore
from toysafe.store.workspace import Workspace
from toysafe.usecases.certify import prepare, read_party

EX = Path(__file__).resolve().parent.parent / "examples"
AS_OF = date(2026, 11, 21)
STACKER = "MM-STK-07"
RATTLE = EX / "products" / "infant-rattle.yaml"
REPORTS = [
    EX / "reports" / "stacker-chemistry-pass.json",
    EX / "reports" / "stacker-mechanical-pass.csv",
]
Signed = tuple[dict[str, Any], bytes]
runner = CliRunner()


# --- building a realistic workspace ------------------------------------------------------------


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    """A signed CPC of the painted stacker and its PDF (rendered once: rendering is slow)."""
    from toysafe.render.certificate_pdf import render_certificate

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("TOYSAFE_SIGNING_KEY", raising=False)
        key, _ = load_or_create(tmp_path_factory.mktemp("keys"))
    profile = read_profile(EX / "products" / "painted-wooden-stacker.yaml")
    reports = [r for _, r in read_reports(REPORTS)]
    labs, party = read_labs(EX / "labs.csv"), read_party(EX / "party.yaml")
    issued = prepare(profile, reports, labs, party, key, AS_OF, lot="L2506-A")
    assert issued.document is not None, issued.refused
    return issued.document, render_certificate(issued.document, key)


def lab_rows(registry: LabRegistry) -> list[LabRow]:
    return [
        LabRow(
            cpsc_id=lab.cpsc_id,
            name=lab.name,
            country=lab.country,
            type=lab.type,
            status=lab.status,
            scope=scope,
            accepted_on=accepted,
            address=lab.address,
            phone=lab.phone,
            status_since=lab.status_since,
        )
        for lab in registry.labs.values()
        for scope, accepted in lab.scopes.items()
    ]


def build(store: Store, signed: Signed) -> None:
    """Two organizations; every example profile, a second stacker version with a new painted
    component, reports, labs, a certificate with its PDF, listings and lots."""
    ws = Workspace(store, who="alice")
    ws.init(party=yaml.safe_load((EX / "party.yaml").read_text(encoding="utf-8")))
    ws.import_labs(lab_rows(read_labs(EX / "labs.csv")), AS_OF)
    ws.add_profiles([read_profile(p) for p in sorted((EX / "products").glob("*.yaml"))], AS_OF)
    withdrawn = EX / "reports" / "stacker-chemistry-withdrawn-lab.json"
    ws.add_reports(read_reports([*REPORTS, withdrawn]), AS_OF)
    doc, pdf = signed
    ws.store_certificate(STACKER, doc, pdf, 1, AS_OF, "L2506-A")
    data = ws.profile(STACKER)[0].to_data()
    data["components"].append(
        {
            "id": "paint-pink",
            "name": "Pink water-based paint (ring 8)",
            "material": "surface_coating",
        }
    )
    outcome = ws.add_profiles([profile_from_data(data)], date(2026, 11, 22))
    assert outcome[0].outcome == "new_version", outcome
    ws.import_listings(
        [
            {
                "marketplace": "amazon.com",
                "listing_id": "B0CW00DST7",
                "sku": STACKER,
                "title": 'Rainbow stacker, 7 rings — "painted", beech',
                "status": "active",
            },
            {
                "marketplace": "amazon.com",
                "listing_id": "B0NOPROFILE",
                "sku": "NO-PROFILE-1",
                "title": None,
                "status": None,
            },
        ]
    )
    assert ws.add_lot(STACKER, "L2507-B", "2025-07", "Yunhe", "CN")
    acme = Workspace(store, "acme", who="bob")
    acme.init(name="Acme Toys")
    acme.add_profiles([read_profile(RATTLE)], AS_OF)
    acme.import_listings(
        [
            {
                "marketplace": "walmart.com",
                "listing_id": "W-1",
                "sku": read_profile(RATTLE).sku,
                "title": "Rattle",
                "status": "active",
            }
        ]
    )


def refresh_today(store: Store) -> None:
    """Recompute states as an import does (as of today), so that states compare equal."""
    with store.transaction() as s:
        for slug in s.scalars(select(m.Organization.slug)).all():
            Workspace(store, slug, who="test").refresh(s, None, date.today())


# --- comparing workspaces ----------------------------------------------------------------------


def dump(store: Store) -> dict[str, list[str]]:
    """Every row of every table, with surrogate ids replaced by natural keys."""
    out: dict[str, list[str]] = {}
    with store.transaction() as s:
        orgs = dict(s.execute(select(m.Organization.id, m.Organization.slug)).all())
        refs: dict[str, dict[Any, Any]] = {
            "org_id": orgs,
            "product_id": {
                i: (orgs[o], k)
                for i, o, k in s.execute(select(m.Product.id, m.Product.org_id, m.Product.sku))
            },
            "report_id": {
                i: (orgs[o], k)
                for i, o, k in s.execute(select(m.Report.id, m.Report.org_id, m.Report.report_no))
            },
        }
        for table in m.Base.metadata.sorted_tables:
            rows = []
            for row in s.execute(select(table)).mappings():
                rec = {
                    k: _plain(refs[k].get(v) if k in refs else v)
                    for k, v in row.items()
                    if not (k == "id" and isinstance(v, int))
                }
                rows.append(json.dumps(rec, sort_keys=True))
            out[table.name] = sorted(rows)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).timestamp()
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    if isinstance(value, date):
        return value.isoformat()
    return value


def tree(root: Path) -> dict[str, bytes]:
    """Every file of an export, with the manifest's export time left out."""
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    manifest = json.loads(files["manifest.json"])
    assert manifest.pop("exported_at")
    files["manifest.json"] = json.dumps(manifest).encode()
    return files


def statuses(store: Store) -> dict[str, list[dict[str, Any]]]:
    return {
        org: [x.to_dict() for x in Workspace(store, org, who="test").statuses(AS_OF)]
        for org in ("default", "acme")
    }


def empty(store: Store) -> bool:
    return all(not rows for rows in dump(store).values())


@pytest.fixture
def other(db: DB, tmp_path: Path) -> Iterator[DB]:
    """A second, migrated database on the same backend as ``db``."""
    where = tmp_path / "other-db"
    where.mkdir()
    second = DB(db.backend, where)
    try:
        migrate(second.engine)
        yield second
    finally:
        second.drop()


# --- export and import -------------------------------------------------------------------------


def test_export_import_export_is_exact(
    store: Store, other: DB, tmp_path: Path, signed: Signed
) -> None:
    build(store, signed)
    refresh_today(store)
    first, second = tmp_path / "first", tmp_path / "second"
    counts = export_workspace(store, first)
    assert counts == {
        "organizations": 2,
        "products": 16,
        "product_versions": 17,
        "listings": 3,
        "lots": 2,
        "labs": 3,
        "lab_scopes": 10,
        "reports": 3,
        "certificates": 1,
        "events": counts["events"],
        "users": 0,
        "api_tokens": 0,
        "lab_shares": 0,
        "enrollments": 0,
        "table_rows": 0,  # the program's tables and the rest (tests/test_backup_tables.py)
    }
    target = other.store()
    Workspace(target, who="t").init()  # only an organization: still empty, and replaced
    assert import_workspace(target, first) == counts
    assert export_workspace(target, second) == counts
    assert tree(first) == tree(second)
    assert statuses(target) == statuses(store)
    assert dump(target) == dump(store)


def test_export_files_are_contract_files(store: Store, tmp_path: Path, signed: Signed) -> None:
    build(store, signed)
    out = tmp_path / "out"
    export_workspace(store, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "toysafe/workspace-export@1"
    org = yaml.safe_load((out / "organizations" / "default.yaml").read_text())
    assert org["party"] == yaml.safe_load((EX / "party.yaml").read_text())
    product = out / "products" / "default" / STACKER
    assert read_profile(product / "v1.yaml").sku == STACKER
    assert "paint-pink" in {c.id for c in read_profile(product / "v2.yaml").components}
    versions = json.loads((product / "versions.json").read_text())["versions"]
    assert [(v["version"], v["created_by"], v["changed_components"]) for v in versions] == [
        (1, "alice", []),
        (2, "alice", [{"component": "paint-pink", "change": "added"}]),
    ]
    assert (out / "labs.csv").read_text().splitlines()[0] == ",".join(COLUMNS + OPTIONAL)
    assert set(read_labs(out / "labs.csv").labs) == set(read_labs(EX / "labs.csv").labs)
    index = json.loads((out / "reports" / "index.json").read_text())
    withdrawn = EX / "reports" / "stacker-chemistry-withdrawn-lab.json"
    assert {x["source"] for x in index} == {src for src, _ in read_reports([*REPORTS, withdrawn])}
    assert len(read_reports(sorted((out / "reports" / "default").glob("*.json")))) == 3
    certs = json.loads((out / "certificates" / "index.json").read_text())
    cid = signed[0]["certificate"]["id"]
    assert [(c["id"], c["sku"], c["product_version"], c["version"]) for c in certs] == [
        (cid, STACKER, 1, 1)
    ]
    assert (out / "certificates" / f"{certs[0]['file']}.pdf").read_bytes() == signed[1]
    assert json.loads((out / "certificates" / f"{certs[0]['file']}.json").read_text()) == signed[0]
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert events[0]["kind"] == "init" and events[0]["actor"] == "alice"
    assert {"certificate.issue", "product.version", "lot.add"} <= {e["kind"] for e in events}


def test_restore_accepts_a_zipped_export_folder(
    store: Store, other: DB, tmp_path: Path, signed: Signed
) -> None:
    build(store, signed)
    refresh_today(store)
    export_workspace(store, tmp_path / "export")
    zipped = shutil.make_archive(str(tmp_path / "zipped"), "zip", tmp_path, "export")
    assert "export/manifest.json" in zipfile.ZipFile(zipped).namelist()
    restore(other.store(), Path(zipped))
    assert dump(other.store()) == dump(store)


def test_import_refuses_a_workspace_with_data(store: Store, tmp_path: Path, signed: Signed) -> None:
    build(store, signed)
    export_workspace(store, tmp_path / "out")
    before = dump(store)
    with pytest.raises(InputError, match="already holds 16 products, 3 reports, 1 certificates"):
        import_workspace(store, tmp_path / "out")
    assert dump(store) == before


def test_export_refuses_a_non_empty_directory(store: Store, tmp_path: Path) -> None:
    Workspace(store, who="t").init()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        export_workspace(store, tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def _first_report(out: Path) -> Path:
    return sorted((out / "reports" / "default").glob("*.json"))[0]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


CORRUPTIONS: dict[str, tuple[Callable[[Path], Any], str]] = {
    "report json": (lambda out: _first_report(out).write_text('{"report_no": '), "not valid JSON"),
    "report field": (
        lambda out: _replace(_first_report(out), '"issued": "2026-', '"issued": "2026-13'),
        "issued",
    ),
    "profile": (
        lambda out: _replace(
            out / "products/default" / STACKER / "v2.yaml", "min_months: 12", "min_months: -5"
        ),
        "v2.yaml: age.min_months",
    ),
    "labs": (lambda out: _replace(out / "labs.csv", "independent", "independant"), "labs.csv line"),
    "events": (
        lambda out: (out / "events.jsonl").write_text('{"at": "x"\n', encoding="utf-8"),
        "events.jsonl line 1",
    ),
    "lot of unknown product": (
        lambda out: _replace(out / "lots.csv", f"default,{STACKER},L2507-B", "default,NOPE,L1"),
        "lots.csv line",
    ),
    "missing pdf": (
        lambda out: next((out / "certificates").glob("*.pdf")).unlink(),
        "missing from the export",
    ),
    "missing product": (
        lambda out: shutil.rmtree(out / "products" / "acme"),
        "manifest.json: counts.products",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_malformed_export_writes_nothing(
    store: Store, other: DB, tmp_path: Path, signed: Signed, case: str
) -> None:
    build(store, signed)
    out = tmp_path / "out"
    export_workspace(store, out)
    corrupt, message = CORRUPTIONS[case]
    corrupt(out)
    target = other.store()
    with pytest.raises(InputError) as err:
        import_workspace(target, out)
    assert message in str(err.value)
    assert str(out) in str(err.value)  # names the file
    assert empty(target)


def test_failure_while_writing_rolls_everything_back(
    store: Store, other: DB, tmp_path: Path, signed: Signed, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(store, signed)
    export_workspace(store, tmp_path / "out")
    target = other.store()
    Workspace(target, who="t").init(name="Already here")  # replaced by an import, unless it fails
    before = dump(target)

    def boom(*args: Any, **kw: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Workspace, "refresh", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        import_workspace(target, tmp_path / "out")
    assert dump(target) == before
    with pytest.raises(RuntimeError, match="disk full"):  # restore --force: the same
        backup(store, tmp_path / "b.zip")
        restore(target, tmp_path / "b.zip", force=True)
    assert dump(target) == before


def test_failed_backup_leaves_no_file(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Workspace(store, who="t").init()
    where = tmp_path / "backups"
    backup(store, where / "b.zip")
    old = (where / "b.zip").read_bytes()

    def boom(*args: Any) -> int:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(portable, "_export_certificates", boom)  # after other files
    with pytest.raises(RuntimeError):
        backup(store, where / "b.zip")
    with pytest.raises(RuntimeError):
        backup(store, where / "new.zip")
    with pytest.raises(RuntimeError):
        export_workspace(store, where / "export")
    assert sorted(p.name for p in where.iterdir()) == ["b.zip"]
    assert (where / "b.zip").read_bytes() == old


# --- the CLI -----------------------------------------------------------------------------------


def test_backup_and_restore_through_the_cli(ws_env: DB, tmp_path: Path, signed: Signed) -> None:
    migrate(ws_env.engine)
    store = ws_env.store()
    build(store, signed)
    refresh_today(store)
    before = dump(store)
    ws = ["--workspace", str(tmp_path / "ws")]
    file = tmp_path / "backups" / "ws.zip"

    result = runner.invoke(app, ["backup", str(file), *ws, "--without-keys"])
    assert result.exit_code == 0, result.output
    assert "16 products" in result.stdout and "1 certificates" in result.stdout
    assert "manifest.json" in zipfile.ZipFile(file).namelist()
    assert [p.name for p in file.parent.iterdir()] == ["ws.zip"]

    result = runner.invoke(app, ["restore", str(file), *ws])
    assert result.exit_code == 2, result.output
    assert "already holds" in result.stderr and "--force" in result.stderr
    assert dump(store) == before

    assert Workspace(store, who="carol").add_lot(STACKER, "L2601-C", "2026-01", "Yunhe", "CN")
    assert dump(store) != before
    result = runner.invoke(app, ["restore", str(file), "--force", *ws])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"restored from {file}: 2 organizations, 16 products")
    assert dump(store) == before

    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    result = runner.invoke(app, ["restore", str(tmp_path / "junk.zip"), "--force", *ws])
    assert result.exit_code == 2 and "not a readable zip file" in result.stderr
    assert dump(store) == before


def test_export_and_import_through_the_cli(
    ws_env: DB, other: DB, tmp_path: Path, signed: Signed, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(ws_env.engine)
    store = ws_env.store()
    build(store, signed)
    refresh_today(store)
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"exported to {out}: 2 organizations, 16 products")
    result = runner.invoke(app, ["export", str(out)])
    assert result.exit_code == 2 and "not empty" in result.stderr

    monkeypatch.setenv("TOYSAFE_DATABASE_URL", other.url)
    result = runner.invoke(app, ["import", str(out), "--workspace", str(tmp_path / "ws2")])
    assert result.exit_code == 0, result.output
    assert "17 product versions" in result.stdout
    assert dump(other.store()) == dump(store)
    result = runner.invoke(app, ["import", str(out)])
    assert result.exit_code == 2 and "already holds 16 products" in result.stderr
    result = runner.invoke(app, ["import", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such directory" in result.stderr

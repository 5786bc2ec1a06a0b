"""Certificates: issue, every 16 CFR 1110 element, refusal, tamper evidence, eFiling, labels,
audit packages."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from toysafe.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
STACKER = EX / "products" / "painted-wooden-stacker.yaml"
PASSING = [
    str(EX / "reports" / "stacker-chemistry-pass.json"),
    str(EX / "reports" / "stacker-mechanical-pass.csv"),
]
ARTIFACTS = ROOT / "build" / "test-artifacts"
runner = CliRunner()


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOYSAFE_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("TOYSAFE_SIGNING_KEY", raising=False)
    return tmp_path


def certify(out: Path, profile: Path = STACKER, reports: list[str] = PASSING, *extra: str) -> Any:
    return runner.invoke(
        app,
        [
            "certify",
            str(profile),
            "--reports",
            *reports,
            "--labs",
            str(EX / "labs.csv"),
            "--party",
            str(EX / "party.yaml"),
            "--as-of",
            "2026-11-21",
            "--out",
            str(out),
            *extra,
        ],
    )


@pytest.fixture
def issued(ws: Path) -> Path:
    out = ws / "out"
    result = certify(out, STACKER, PASSING, "--lot", "L2506-A")
    assert result.exit_code == 0, result.output
    return out


def test_certify_writes_the_pdf_and_the_signed_json(issued: Path, ws: Path) -> None:
    assert sorted(p.name for p in issued.iterdir()) == ["MM-STK-07.cpc.json", "MM-STK-07.cpc.pdf"]
    key = ws / "ws" / ".toysafe" / "keys" / "signing.pem"
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600


def test_the_json_carries_every_element_of_16cfr1110(issued: Path) -> None:
    doc = json.loads((issued / "MM-STK-07.cpc.json").read_text())
    assert doc["format"] == "toysafe/certificate@1"
    c = doc["certificate"]
    assert c["type"] == "CPC" and c["version"] == 1 and c["issued"] == "2026-11-21"
    assert c["id"] == "CPC-MM-STK-07-20261121-V1"
    assert c["product"]["gtin"] == "860004317517" and c["product"]["asins"] == ["B0CW00DST7"]
    citations = [r["citation"] for r in c["rules"]]
    assert "ASTM F963-23 §4.3.5.1(2), 16 CFR part 1250" in citations  # F963 sections one by one
    assert {"16 CFR part 1303", "16 CFR part 1307"} <= set(citations)
    assert all(k in c["certifier"] for k in ("name", "address", "phone"))
    assert all(k in c["records_custodian"] for k in ("name", "address", "phone", "email"))
    assert c["manufacture"] == {
        "date": "2025-06",
        "city": "Yunhe",
        "country": "CN",
        "lot": "L2506-A",
    }
    assert {t["report_no"] for t in c["testing"]} == {"ETC-2026-0612-01", "ETC-2026-0612-02"}
    assert all(t["tested_from"] and t["place"] for t in c["testing"])
    assert c["labs"] == [
        {
            "cpsc_id": "1234",
            "name": "Example Testing Co. (Ningbo)",
            "address": "88 Jiangnan Rd, Ningbo, Zhejiang, CN",
            "phone": "+86 574 5555 0100",
            "type": "independent",
        }
    ]
    e = c["efiling"]
    assert (e["certifier_id"], e["product_id"], e["product_id_type"]) == (
        "MAPLEMOSS-001",
        "860004317517",
        "GTIN",
    )
    assert e["certificate_version_id"] == "1" and e["last_test_date"] == "2026-06-10"
    assert any(x["requirement"] == "15USC1278a" for x in c["exclusions"])
    assert doc["signature"]["algorithm"] == "Ed25519"


def test_the_pdf_shows_every_element_and_renders_for_a_reviewer(issued: Path) -> None:
    import io

    import pypdfium2
    from pypdf import PdfReader

    pdf = (issued / "MM-STK-07.cpc.pdf").read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    assert 1 <= len(reader.pages) <= 2
    text = " ".join(p.extract_text() for p in reader.pages)
    doc = json.loads((issued / "MM-STK-07.cpc.json").read_text())
    c = doc["certificate"]
    for expected in [
        "Children's Product Certificate",
        c["id"],
        doc["signature"]["digest"],
        c["product"]["name"],
        "MM-STK-07",
        "860004317517",
        "B0CW00DST7",
        "ASTM F963-23 §4.3.5.1(2)",
        "16 CFR part 1303",
        "16 CFR part 1307",
        "Maple & Moss Toys LLC",
        "+1 512 555 0100",
        "Dana Reyes",
        "records@maplemoss.example",
        "June 2025",
        "Yunhe, CN",
        "L2506-A",
        "2026-06-02",
        "Ningbo, CN",
        "Example Testing Co. (Ningbo)",
        "88 Jiangnan Rd",
        "+86 574 5555 0100",
        "1234",
    ]:
        assert expected in text.replace("\n", " "), expected
    assert "certificate.json" in reader.attachments
    fonts = {f for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert all(
        "/FontFile2" in f.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        for f in fonts
    )  # fonts embedded
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = pypdfium2.PdfDocument(pdf)[0].render(scale=1.5).to_pil()
    page.save(ARTIFACTS / "certificate-page-1.png")
    assert page.size[0] > 900 and page.getextrema()[0][0] < 50  # a full page with dark text


def test_certificate_verify_accepts_the_untouched_files(issued: Path) -> None:
    for name in ("MM-STK-07.cpc.json", "MM-STK-07.cpc.pdf"):
        result = runner.invoke(app, ["certificate", "verify", str(issued / name)])
        assert result.exit_code == 0 and "VALID" in result.stdout, result.output
        assert "signed_here: True" in result.stdout


@pytest.mark.parametrize("name", ["MM-STK-07.cpc.json", "MM-STK-07.cpc.pdf"])
def test_a_one_byte_change_fails_verification(issued: Path, name: str) -> None:
    path = issued / name
    data = bytearray(path.read_bytes())
    positions = [len(data) // 3, len(data) // 2, 2 * len(data) // 3]
    if name.endswith(".json"):
        positions = [data.index(b"Maple & Moss Toys LLC") + 1]
    for pos in positions:
        changed = bytearray(data)
        changed[pos] = (changed[pos] + 1) % 256
        path.write_bytes(bytes(changed))
        result = runner.invoke(app, ["certificate", "verify", str(path)])
        assert result.exit_code in (1, 2), (pos, result.output)
        assert "INVALID" in result.stdout or "error" in result.stderr


def test_appending_to_the_pdf_or_re_signing_the_json_is_caught(issued: Path, ws: Path) -> None:
    pdf = issued / "MM-STK-07.cpc.pdf"
    pdf.write_bytes(pdf.read_bytes() + b"\n%extra\n")
    result = runner.invoke(app, ["certificate", "verify", str(pdf)])
    assert result.exit_code == 1 and "added to the PDF" in result.stdout
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from toysafe.core.certificates import seal

    path = issued / "MM-STK-07.cpc.json"
    doc = json.loads(path.read_text())
    doc["certificate"]["product"]["name"] = "Something else"
    path.write_text(json.dumps(seal.sign(doc, Ed25519PrivateKey.generate())))
    forged = runner.invoke(app, ["certificate", "verify", str(path)])
    # Contract 7 (1.1): a valid signature by a key nobody trusts is not a valid certificate.
    assert forged.exit_code == 1 and "signed by an unknown key" in forged.stdout
    assert "signed_here: False" in forged.stdout
    key = ws / "ws" / ".toysafe" / "keys" / "signing.pem"
    trusted = runner.invoke(app, ["certificate", "verify", str(path), "--key", str(key)])
    assert trusted.exit_code == 1 and "not by the trusted key" in trusted.stdout


def test_certify_refuses_and_writes_nothing_when_not_certifiable(ws: Path) -> None:
    out = ws / "out"
    failing = [str(EX / "reports" / "stacker-chemistry-fail.json"), PASSING[1]]
    result = certify(out, STACKER, failing)
    assert result.exit_code == 1
    assert "not certified" in result.stderr and "Pb 95 ppm in paint-red" in result.stderr
    assert not out.exists() or not list(out.iterdir())
    result = certify(out, STACKER, [PASSING[1]])
    assert result.exit_code == 1 and "missing" in result.stderr


def test_certify_refuses_a_certificate_missing_an_element(ws: Path, tmp_path: Path) -> None:
    labs = tmp_path / "labs.csv"
    lines = (EX / "labs.csv").read_text().splitlines()
    labs.write_text("\n".join(line.replace("+86 574 5555 0100", "") for line in lines) + "\n")
    out = ws / "out"
    chem = json.loads(Path(PASSING[0]).read_text())
    chem["lab"].pop("phone")
    (tmp_path / "chem.json").write_text(json.dumps(chem))
    mech = Path(PASSING[1]).read_text().replace("+86 574 5555 0100", "")
    (tmp_path / "mech.csv").write_text(mech)
    result = runner.invoke(
        app,
        [
            "certify",
            str(STACKER),
            "--reports",
            str(tmp_path / "chem.json"),
            str(tmp_path / "mech.csv"),
            "--labs",
            str(labs),
            "--party",
            str(EX / "party.yaml"),
            "--as-of",
            "2026-11-21",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1 and "phone is unknown" in result.stderr
    assert not out.exists()


def test_a_bad_party_file_exits_2_naming_the_field(ws: Path, tmp_path: Path) -> None:
    party = tmp_path / "party.yaml"
    party.write_text(
        "certifier: {name: X, address: Somewhere 1}\n"
        "records_custodian: {name: Y, address: Elsewhere 2, phone: '+1 555 0101', "
        "email: y@example.org}\n"
    )
    result = runner.invoke(
        app,
        [
            "certify",
            str(STACKER),
            "--reports",
            *PASSING,
            "--labs",
            str(EX / "labs.csv"),
            "--party",
            str(party),
            "--out",
            str(ws / "out"),
        ],
    )
    assert result.exit_code == 2 and "certifier.phone: is required" in result.stderr


def test_a_general_use_toy_gets_a_gcc(ws: Path) -> None:
    out = ws / "out"
    result = runner.invoke(
        app,
        [
            "certify",
            str(EX / "products" / "rc-drone.yaml"),
            "--labs",
            str(EX / "labs.csv"),
            "--party",
            str(EX / "party.yaml"),
            "--as-of",
            "2026-11-21",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    (json_path,) = out.glob("*.gcc.json")
    doc = json.loads(json_path.read_text())
    assert doc["certificate"]["type"] == "GCC" and doc["certificate"]["labs"] == []
    assert all(not r["third_party_testing"] for r in doc["certificate"]["rules"])
    assert (
        runner.invoke(app, ["certificate", "verify", str(json_path.with_suffix(".pdf"))]).exit_code
        == 0
    )


def test_certifying_a_folder_certifies_each_product(ws: Path, tmp_path: Path) -> None:
    folder = tmp_path / "products"
    folder.mkdir()
    for name in ("painted-wooden-stacker.yaml", "rc-drone.yaml", "marble-run.yaml"):
        (folder / name).write_text((EX / "products" / name).read_text())
    result = certify(ws / "out", folder, PASSING)
    assert result.exit_code == 1  # the marble run has no reports
    assert sorted(p.name for p in (ws / "out").glob("*.json")) == [
        "MM-STK-07.cpc.json",
        "SK-DRN-M2.gcc.json",
    ]
    assert "TT-MRUN-85: not certified" in result.stderr


def test_efiling_export_as_csv_and_json(issued: Path, tmp_path: Path) -> None:
    cert = str(issued / "MM-STK-07.cpc.json")
    result = runner.invoke(app, ["efile", cert])
    assert result.exit_code == 0
    import csv
    import io

    (row,) = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row["Certifier ID"] == "MAPLEMOSS-001" and row["Product ID Type"] == "GTIN"
    assert row["Certificate Version ID"] == "1" and row["Manufacture Date"] == "2025-06"
    assert row["Lab IDs"] == "1234" and "no CPSC citation code" in result.stderr
    codes = tmp_path / "codes.csv"
    codes.write_text("requirement,code\n16CFR1303,LPB\n")
    doc = json.loads(
        runner.invoke(
            app, ["efile", cert, "--format", "json", "--citation-codes", str(codes)]
        ).stdout
    )
    rec = doc["records"][0]
    assert rec["citation_codes"] == ["LPB"] and rec["manufacture_month_mmccyy"] == "062025"
    template = tmp_path / "template.csv"
    template.write_text("Product ID,Certifier ID,Mystery Column\n")
    bad = runner.invoke(app, ["efile", cert, "--template", str(template)])
    assert bad.exit_code == 2 and "no mapping for column(s) Mystery Column" in bad.stderr
    template.write_text("Product ID,Certifier ID\n")
    ok = runner.invoke(app, ["efile", cert, "--template", str(template)])
    assert ok.stdout.splitlines() == ["Product ID,Certifier ID", "860004317517,MAPLEMOSS-001"]


def test_efile_refuses_a_changed_certificate(issued: Path) -> None:
    path = issued / "MM-STK-07.cpc.json"
    path.write_text(path.read_text().replace("Yunhe", "Austin", 1))
    result = runner.invoke(app, ["efile", str(path)])
    assert result.exit_code == 2 and "changed after signing" in result.stderr


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        (
            "marble-run.yaml",
            [
                "Small parts. Not for children under 3 yrs.",
                "Toy contains a marble. Not for children under 3 yrs.",
            ],
        ),
        ("balloon-party-kit.yaml", ["Children under 8 yrs. can choke or suffocate"]),
        ("plush-elephant.yaml", []),
    ],
)
def test_label_statements_by_age(ws: Path, example: str, expected: list[str]) -> None:
    result = runner.invoke(
        app,
        [
            "labels",
            str(EX / "products" / example),
            "--lot",
            "L1",
            "--made",
            "2025-06",
            "--party",
            str(EX / "party.yaml"),
            "--format",
            "json",
            "--out",
            str(ws / "labels"),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    texts = [w["text"] for w in doc["warnings"]]
    assert len(texts) == len(expected)
    for text, want in zip(texts, expected, strict=True):
        # Law fix (issue 10): the em dash of 16 CFR 1500.19, with an ASCII form beside it.
        assert text.startswith("WARNING: CHOKING HAZARD\u2014") and want in text
    for w in doc["warnings"]:
        assert w["text_ascii"].isascii() and "CHOKING HAZARD--" in w["text_ascii"]
    assert doc["online_listing"]["required"] == bool(expected)
    assert "Batch/run L1" in doc["tracking_label"]["lines"]
    assert len(list((ws / "labels").glob("*.label.pdf"))) == 1


def test_labels_need_a_labeler_and_a_valid_month(ws: Path) -> None:
    bad = runner.invoke(app, ["labels", str(STACKER), "--lot", "L", "--made", "June"])
    assert bad.exit_code == 2 and "--made" in bad.stderr


def test_audit_pack_round_trip_and_tampering(issued: Path, tmp_path: Path) -> None:
    pack = tmp_path / "pack.zip"
    result = runner.invoke(
        app,
        [
            "audit-pack",
            str(STACKER),
            "--reports",
            str(EX / "reports"),
            "--labs",
            str(EX / "labs.csv"),
            "--certificate",
            str(issued / "MM-STK-07.cpc.json"),
            "--party",
            str(EX / "party.yaml"),
            "--as-of",
            "2026-11-21",
            "--out",
            str(pack),
        ],
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(pack) as z:
        names = set(z.namelist())
        verification = json.loads(z.read("verification.json"))
    assert {
        "manifest.json",
        "assessment.json",
        "certificate/MM-STK-07.cpc.pdf",
        "reports/stacker-chemistry-pass.json",
        "labels/label.pdf",
    } <= names
    assert "reports/stacker-chemistry-fail.json" not in names  # only the reports relied on
    assert verification["certifiable"] is True
    assert runner.invoke(app, ["audit-pack", "--check", str(pack)]).exit_code == 0

    def rewrite(change: str) -> Path:
        bad = tmp_path / f"{change}.zip"
        with zipfile.ZipFile(pack) as src, zipfile.ZipFile(bad, "w") as dst:
            for item in src.infolist():
                data = src.read(item.filename)
                if change == "edit" and item.filename == "assessment.json":
                    data = data.replace(b"F963-23", b"F963-17", 1)
                dst.writestr(item, data)
            if change == "extra":
                dst.writestr("reports/extra.json", b"{}")
        return bad

    edited = runner.invoke(app, ["audit-pack", "--check", str(rewrite("edit"))])
    assert edited.exit_code == 1 and "assessment.json: changed" in edited.stdout
    extra = runner.invoke(app, ["audit-pack", "--check", str(rewrite("extra"))])
    assert extra.exit_code == 1 and "not in the manifest" in extra.stdout

"""Certificate verification that cannot be fooled (contract 7, 1.1): trusted keys only, the
signer's fingerprint, every changed byte detected, and a verifier that never crashes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from toysafe.cli.app import app
from toysafe.core.certificates import seal
from toysafe.io.trust import fingerprint
from toysafe.usecases.certificate_check import check_file

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
runner = CliRunner()


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(workspace, out) with the stacker certified once for the whole module."""
    ws = tmp_path_factory.mktemp("trust") / "ws"
    out = ws.parent / "out"
    result = runner.invoke(
        app,
        [
            "certify",
            str(EX / "products" / "painted-wooden-stacker.yaml"),
            "--reports",
            str(EX / "reports" / "stacker-chemistry-pass.json"),
            str(EX / "reports" / "stacker-mechanical-pass.csv"),
            "--labs",
            str(EX / "labs.csv"),
            "--party",
            str(EX / "party.yaml"),
            "--as-of",
            "2026-11-21",
            "--out",
            str(out),
            "--workspace",
            str(ws),
        ],
        env={"TOYSAFE_HOME": str(ws), "TOYSAFE_SIGNING_KEY": None},
    )
    assert result.exit_code == 0, result.output
    return ws, out


def verify(path: Path, ws: Path, *extra: str) -> object:
    return runner.invoke(
        app,
        ["certificate", "verify", str(path), "--workspace", str(ws), *extra],
        env={"TOYSAFE_SIGNING_KEY": None},
    )


def _public_pem(key: Ed25519PrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def test_own_certificates_verify_and_print_the_fingerprint(issued: tuple[Path, Path]) -> None:
    ws, out = issued
    for name in ("MM-STK-07.cpc.json", "MM-STK-07.cpc.pdf"):
        result = verify(out / name, ws)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        assert "fingerprint: sha256:" in result.stdout  # type: ignore[attr-defined]
        assert "signed by this workspace's key" in result.stdout  # type: ignore[attr-defined]


def test_a_forgery_re_signed_with_another_key_is_an_unknown_key(
    issued: tuple[Path, Path], tmp_path: Path
) -> None:
    ws, out = issued
    doc = json.loads((out / "MM-STK-07.cpc.json").read_text())
    doc["certificate"]["product"]["name"] = "Something else"
    forger = Ed25519PrivateKey.generate()
    forged = tmp_path / "forged.cpc.json"
    forged.write_text(json.dumps(seal.sign(doc, forger)))
    result = verify(forged, ws)
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "signed by an unknown key" in result.stdout  # type: ignore[attr-defined]
    assert fingerprint(forger.public_key()) in result.stdout  # type: ignore[attr-defined]
    # Another workspace (any other workspace) does not trust this one's certificates either.
    other = tmp_path / "other-ws"
    result = verify(out / "MM-STK-07.cpc.json", other)
    assert result.exit_code == 1 and "unknown key" in result.stdout  # type: ignore[attr-defined]


def test_a_registered_key_is_trusted_for_its_certifier_only(
    issued: tuple[Path, Path], tmp_path: Path
) -> None:
    ws, out = issued
    other = tmp_path / "marketplace-ws"
    exported = runner.invoke(
        app, ["keys", "export", "--out", str(tmp_path / "maple.pem"), "--workspace", str(ws)]
    )
    assert exported.exit_code == 0, exported.output
    wrong = runner.invoke(
        app,
        [
            "keys",
            "trust",
            str(tmp_path / "maple.pem"),
            "--certifier",
            "Other Toys Inc",
            "--workspace",
            str(other),
        ],
    )
    assert wrong.exit_code == 0, wrong.output
    result = verify(out / "MM-STK-07.cpc.json", other)
    assert result.exit_code == 1 and "registered for 'Other Toys Inc'" in result.stdout  # type: ignore[attr-defined]
    kid = json.loads((out / "MM-STK-07.cpc.json").read_text())["signature"]["key_id"]
    assert runner.invoke(app, ["keys", "untrust", kid, "--workspace", str(other)]).exit_code == 0
    ok = runner.invoke(
        app,
        [
            "keys",
            "trust",
            str(tmp_path / "maple.pem"),
            "--certifier",
            "Maple & Moss Toys LLC",
            "--workspace",
            str(other),
        ],
    )
    assert ok.exit_code == 0 and "fingerprint: sha256:" in ok.stdout
    for name in ("MM-STK-07.cpc.json", "MM-STK-07.cpc.pdf"):
        result = verify(out / name, other)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        assert "registered for Maple & Moss Toys LLC" in result.stdout  # type: ignore[attr-defined]
    listed = runner.invoke(app, ["keys", "list", "--json", "--workspace", str(other)])
    assert json.loads(listed.stdout)["trusted"][0]["key_id"] == kid


def test_key_given_on_the_command_line_is_the_only_trusted_one(
    issued: tuple[Path, Path], tmp_path: Path
) -> None:
    ws, out = issued
    stranger = _public_pem(Ed25519PrivateKey.generate(), tmp_path / "stranger.pem")
    result = verify(out / "MM-STK-07.cpc.json", ws, "--key", str(stranger))
    assert result.exit_code == 1 and "not by the trusted key" in result.stdout  # type: ignore[attr-defined]
    own = ws / ".toysafe" / "keys" / "signing.crt"
    assert (
        verify(out / "MM-STK-07.cpc.pdf", tmp_path / "elsewhere", "--key", str(own)).exit_code == 0
    )  # type: ignore[attr-defined]


def test_files_that_are_not_certificates_are_exit_2(
    issued: tuple[Path, Path], tmp_path: Path
) -> None:
    ws, _ = issued
    cases = {
        "a.json": b'{"format": "toysafe/product@1"}',
        "b.json": b"[1, 2]",
        "c.txt": b"hello",
        "d.pdf": b"%PDF-1.4\n%%EOF\n",
        "e.json": b"\xff\xfe{}",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        result = verify(tmp_path / name, ws)
        assert result.exit_code == 2, (name, result.output)  # type: ignore[attr-defined]


def _byte_changes(data: bytes, n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        changed = bytearray(data)
        pos = rng.randrange(len(changed))
        changed[pos] = (changed[pos] + rng.randrange(1, 256)) % 256
        out.append(bytes(changed))
    return out


def test_200_random_byte_changes_to_the_json_change_meaning_or_are_detected(
    issued: tuple[Path, Path], tmp_path: Path
) -> None:
    """Every change is detected unless the signed content (the parsed document) is unchanged:
    JSON allows different spellings of the same document (whitespace between tokens, the case
    of an exponent's 'e'); those verify, and only those."""
    ws, out = issued
    original = json.loads((out / "MM-STK-07.cpc.json").read_bytes())
    path = tmp_path / "c.cpc.json"
    detected = same_meaning = 0
    for changed in _byte_changes((out / "MM-STK-07.cpc.json").read_bytes(), 200, 7):
        path.write_bytes(changed)
        result = check_file(path, None, ws) if changed.startswith(b"{") else None
        if result is not None and result["valid"]:
            assert json.loads(changed) == original  # accepted only when the content is the same
            same_meaning += 1
        else:
            detected += 1
    assert detected + same_meaning == 200 and detected >= 190


def test_200_random_byte_changes_to_the_pdf_are_all_detected(
    issued: tuple[Path, Path], tmp_path: Path
) -> None:
    """The whole file counts, the signature's zero padding and the signature itself included;
    and a damaged signature is an answer (exit 1), never a traceback."""
    ws, out = issued
    data = (out / "MM-STK-07.cpc.pdf").read_bytes()
    path = tmp_path / "c.cpc.pdf"
    changes = _byte_changes(data, 170, 11)
    # Aim 30 more at the unsigned gap: the hex /Contents and its zero padding.
    start = data.index(b"/Contents <") + len(b"/Contents <")
    end = data.index(b">", start)
    rng = random.Random(5)
    for _ in range(30):
        changed = bytearray(data)
        pos = rng.randrange(start, end)
        changed[pos] = rng.choice(b"0123456789abcdefABCDEF\x00 ")
        if changed[pos] == data[pos]:
            changed[pos] = ord("1") if data[pos] != ord("1") else ord("2")
        changes.append(bytes(changed))
    accepted = []
    for i, changed in enumerate(changes):
        path.write_bytes(changed)
        try:
            result = check_file(path, None, ws)
        except Exception as e:  # noqa: BLE001 - only the "not a certificate" InputError is fine
            assert type(e).__name__ == "InputError", (i, e)
            continue
        if result["valid"]:
            accepted.append(i)
    assert accepted == []


@pytest.mark.parametrize("value", ["\\ud800", "\\u0000", "NaN"])
def test_a_value_no_certificate_holds_is_invalid_not_a_crash(
    issued: tuple[Path, Path], tmp_path: Path, value: str
) -> None:
    """Found by bench/fuzz.py: a lone surrogate escaped in the JSON crashed the signature check."""
    ws, out = issued
    text = (out / "MM-STK-07.cpc.json").read_text(encoding="utf-8")
    path = tmp_path / "c.cpc.json"
    if value == "NaN":
        changed = text.replace('"issued": "', '"nan_here": NaN, "issued": "', 1)
    else:
        changed = text.replace('"MM-STK-07"', f'"MM-STK-07{value}"', 1)
    assert changed != text
    path.write_text(changed, encoding="utf-8")
    result = verify(path, ws)
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    assert "no certificate has" in result.output  # type: ignore[attr-defined]

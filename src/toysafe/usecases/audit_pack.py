"""The audit package: everything a reviewer asks for, in one zip with a manifest of digests."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from toysafe.core.certificates import seal
from toysafe.io.errors import InputError
from toysafe.io.kb import default_kb

FORMAT = "toysafe/audit-pack@1"
MANIFEST = "manifest.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


MARKETPLACE_POLICY = (
    "marketplace policy: the marketplace asks for renewal within its certification period "
    "(12 months from the oldest relied-on report by default); a CPC itself has no legal expiry"
)


def write_pack(
    out: Path,
    files: dict[str, bytes],
    certificate: dict[str, Any],
    renewal_due: date | None = None,
) -> Path:
    """Write ``files`` (zip path -> bytes) and a manifest, atomically; ``renewal_due`` is the
    marketplace's renewal date, recorded in the manifest as policy, never on the certificate."""
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "certificate_id": certificate["certificate"]["id"],
        "certificate_digest": certificate["signature"]["digest"],
        # The rules that decided the certificate, and those that made this package's files.
        "certificate_rules_version": certificate["certificate"].get("rules_version"),
        "rules_version": default_kb().rules_version,
        "files": [
            {"path": name, "sha256": sha256(data), "bytes": len(data)}
            for name, data in sorted(files.items())
        ],
    }
    if renewal_due is not None:
        manifest["marketplace_policy"] = {
            "renewal_due": renewal_due.isoformat(),
            "basis": MARKETPLACE_POLICY,
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".toysafe-", suffix=".zip", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in sorted(files.items()):
                z.writestr(name, data)
            z.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


@dataclass
class PackCheck:
    valid: bool
    problems: list[str]
    certificate_id: str | None
    files: int


def check_pack(path: Path) -> PackCheck:
    """Every file present and unchanged, nothing extra, the certificate's signatures intact."""
    from toysafe.render.certificate_pdf import check_pdf

    try:
        z = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise InputError(f"{path}: not a readable zip ({e})") from None
    problems: list[str] = []
    with z:
        names = set(z.namelist())
        if MANIFEST not in names:
            raise InputError(f"{path}: no {MANIFEST}: not a toysafe audit package")
        try:
            manifest = json.loads(z.read(MANIFEST))
        except json.JSONDecodeError:
            raise InputError(f"{path}: {MANIFEST} is not JSON") from None
        if manifest.get("format") != FORMAT:
            raise InputError(f"{path}: {MANIFEST}: not a {FORMAT} manifest")
        listed = {f["path"]: f for f in manifest.get("files", [])}
        for name in sorted(names - set(listed) - {MANIFEST}):
            problems.append(f"{name}: not in the manifest")
        contents: dict[str, bytes] = {}
        for name, entry in listed.items():
            if name not in names:
                problems.append(f"{name}: listed in the manifest but missing")
                continue
            data = z.read(name)
            contents[name] = data
            if sha256(data) != entry["sha256"]:
                problems.append(f"{name}: changed (SHA-256 differs from the manifest)")
    cert_json = next(
        (n for n in contents if n.startswith("certificate/") and n.endswith(".json")), None
    )
    cert_pdf = next(
        (n for n in contents if n.startswith("certificate/") and n.endswith(".pdf")), None
    )
    if cert_json is None or cert_pdf is None:
        problems.append("certificate/: the certificate JSON and PDF are both required")
    else:
        doc = json.loads(contents[cert_json])
        sealed = seal.check(doc)
        if not sealed.valid:
            problems.append(f"{cert_json}: {sealed.reason}")
        elif sealed.digest != manifest.get("certificate_digest"):
            problems.append(f"{cert_json}: its digest differs from the manifest's")
        pdf = check_pdf(contents[cert_pdf])
        if not pdf.valid:
            problems.append(f"{cert_pdf}: {pdf.reason}")
        elif pdf.document is not None and seal.digest(pdf.document) != sealed.digest:
            problems.append(f"{cert_pdf}: carries a different certificate than {cert_json}")
    return PackCheck(not problems, problems, manifest.get("certificate_id"), len(listed))


def buffer_json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()

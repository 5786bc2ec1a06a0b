"""eFiling export: certificates to the canonical record (JSON) or a CSV with mapped columns."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toysafe.core.certificates import seal
from toysafe.core.certificates.efiling import efiling_record, flatten
from toysafe.io.errors import InputError
from toysafe.io.text import parse_document, read_text

DEFAULT_COLUMNS = Path(__file__).parent / "efiling_columns.yaml"


def read_certificate(path: Path) -> dict[str, Any]:
    """A certificate JSON whose signature holds (a changed one is refused)."""
    doc = parse_document(read_text(path), str(path), as_json=True)
    if not isinstance(doc, dict) or doc.get("format") != "toysafe/certificate@1":
        raise InputError(f"{path}: not a toysafe/certificate@1 document")
    check = seal.check(doc)
    if not check.valid:
        raise InputError(f"{path}: {check.reason}")
    return doc


def read_codes(path: Path | None) -> dict[str, str]:
    """CPSC citation codes by requirement id, from a CSV with columns requirement,code."""
    if path is None:
        return {}
    rows = list(csv.DictReader(io.StringIO(read_text(path))))
    if not rows or not {"requirement", "code"} <= set(rows[0]):
        raise InputError(f"{path}: header: needs the columns requirement,code")
    return {
        r["requirement"].strip(): r["code"].strip()
        for r in rows
        if isinstance(r["requirement"], str) and isinstance(r["code"], str) and r["code"].strip()
    }


def read_columns(path: Path | None) -> list[dict[str, Any]]:
    source = path or DEFAULT_COLUMNS
    data = parse_document(read_text(source), str(source), as_json=False)
    cols = data.get("columns") if isinstance(data, dict) else None
    if not isinstance(cols, list) or not cols:
        raise InputError(f"{source}: columns: expected a list of {{column, field}}")
    known = set(efiling_record({"certificate": _EMPTY, "signature": {}}))
    for i, c in enumerate(cols):
        if not isinstance(c, dict) or set(c) - {"column", "field", "required"} or "column" not in c:
            raise InputError(f"{source}: columns[{i}]: expected {{column, field, required}}")
        if c.get("field") not in known:
            raise InputError(
                f"{source}: columns[{i}].field: unknown field '{c.get('field')}' "
                f"(known: {', '.join(sorted(known))})"
            )
    return cols


def template_header(path: Path) -> list[str]:
    try:
        first = read_text(path).splitlines()[0]
    except IndexError as e:
        raise InputError(f"{path}: cannot read the template header ({e})") from None
    return [h.strip() for h in next(csv.reader([first]))]


def to_csv(
    records: Sequence[dict[str, Any]],
    columns: list[dict[str, Any]],
    template: list[str] | None = None,
) -> str:
    """Rows in the mapped columns; with a template, exactly its header, every column mapped."""
    by_name = {c["column"]: c for c in columns}
    header = template or [c["column"] for c in columns]
    unmapped = [h for h in header if h not in by_name]
    if unmapped:
        raise InputError(
            "template: no mapping for column(s) "
            + ", ".join(unmapped)
            + ": add them to the --columns file"
        )
    problems = [
        f"{r['certificate_id']}: {h}: required but empty"
        for r in records
        for h in header
        if by_name[h].get("required") and not flatten(r.get(by_name[h]["field"]))
    ]
    if problems:
        raise InputError("\n".join(problems))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in records:
        writer.writerow([flatten(r.get(by_name[h]["field"])) for h in header])
    return buf.getvalue()


# A blank certificate, to list the fields a mapping may name.
_EMPTY: dict[str, Any] = {
    "id": "",
    "type": "",
    "issued": "",
    "product": {"name": "", "sku": ""},
    "rules": [],
    "certifier": {"name": "", "address": "", "phone": ""},
    "records_custodian": {"name": "", "address": "", "phone": "", "email": ""},
    "manufacture": {"date": "2000-01", "city": "", "country": ""},
    "testing": [],
    "labs": [],
    "exclusions": [],
    "efiling": {"certificate_version_id": "", "product_id": "", "product_id_type": ""},
}

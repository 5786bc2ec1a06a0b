"""Read the lab registry (``toysafe/labs@1`` CSV): strict, line-numbered, all or nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import ValidationError

from toysafe.core.evidence.labs import LabRegistry, LabRow
from toysafe.io.errors import (
    InputError,
    describe_validation_error,
    malformed_csv_is_input_error,
)

COLUMNS = ("cpsc_id", "name", "country", "type", "status", "scope", "accepted_on")
OPTIONAL = ("address", "phone", "status_since")


def read_labs(path: Path) -> LabRegistry:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    return labs_from_csv(text, str(path))


@malformed_csv_is_input_error
def labs_from_csv(text: str, source: str) -> LabRegistry:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS + OPTIONAL]
    if missing or unknown:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        )
        raise InputError(f"{source}: header: {'; '.join(parts)}")
    rows: list[LabRow] = []
    first: dict[str, tuple[int, LabRow]] = {}
    errors: list[str] = []
    for line, raw in enumerate(reader, start=2):
        data = {k.strip(): v.strip() for k, v in raw.items() if isinstance(v, str) and v.strip()}
        try:
            row = LabRow.model_validate(data)
        except ValidationError as e:
            errors.append(describe_validation_error(e, f"{source} line {line}: "))
            continue
        seen = first.setdefault(row.cpsc_id, (line, row))
        for field in ("name", "country", "type", "status"):
            if getattr(row, field) != getattr(seen[1], field):
                errors.append(
                    f"{source} line {line}: {field}: '{getattr(row, field)}' differs "
                    f"from line {seen[0]} for lab {row.cpsc_id}"
                )
        rows.append(row)
    if errors:
        raise InputError("\n".join(errors))
    if not rows:
        raise InputError(f"{source}: no labs")
    return LabRegistry.from_rows(rows)

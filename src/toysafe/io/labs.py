"""Read the lab registry (``toysafe/labs@1`` CSV): strict, line-numbered, all or nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import ValidationError

from toysafe.core.evidence.labs import LabRegistry, LabRow
from toysafe.io.errors import (
    InputError,
    csv_header_problems,
    csv_row_problem,
    describe_validation_error,
    malformed_csv_is_input_error,
)
from toysafe.io.text import check_text, read_text

COLUMNS = ("cpsc_id", "name", "country", "type", "status", "scope", "accepted_on")
OPTIONAL = ("address", "phone", "status_since")


def read_labs(path: Path) -> LabRegistry:
    return labs_from_csv(read_text(path), str(path))


@malformed_csv_is_input_error
def labs_from_csv(text: str, source: str) -> LabRegistry:
    check_text(text, source)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    problems = csv_header_problems(header, COLUMNS, COLUMNS + OPTIONAL)
    if problems:
        raise InputError(f"{source}: header: {problems}")
    rows: list[LabRow] = []
    first: dict[str, tuple[int, LabRow]] = {}
    errors: list[str] = []
    for line, raw in enumerate(reader, start=2):
        if problem := csv_row_problem(raw, header):
            errors.append(f"{source} line {line}: {problem}")
            continue
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

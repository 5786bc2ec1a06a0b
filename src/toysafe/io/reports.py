"""Read lab reports: ``toysafe/lab-report@1`` JSON (or YAML), and the equivalent CSV.

The CSV has one row per result; report-level columns repeat on every row of a report and must
agree. Columns: report_no, lab_cpsc_id, lab_name, lab_address, lab_phone, issued, tested_from,
tested_to, tested_place, products, age_min_months, standard, requirement, component, analyte,
value, loq, unit, verdict. ``products`` lists ``sku=...,model=...,gtin=...`` entries separated
by ``;``. Several reports may share one CSV file.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toysafe.core.evidence.labreport import LabReport
from toysafe.io.errors import (
    InputError,
    csv_header_problems,
    csv_row_problem,
    describe_validation_error,
    malformed_csv_is_input_error,
)
from toysafe.io.text import check_text, parse_document, read_text

REPORT_COLUMNS = (
    "report_no",
    "lab_cpsc_id",
    "lab_name",
    "lab_address",
    "lab_phone",
    "issued",
    "tested_from",
    "tested_to",
    "tested_place",
    "products",
    "age_min_months",
    "standard",
)
RESULT_COLUMNS = ("requirement", "component", "analyte", "value", "loq", "unit", "verdict")
REQUIRED_COLUMNS = (
    "report_no",
    "lab_cpsc_id",
    "lab_name",
    "issued",
    "tested_from",
    "tested_to",
    "products",
    "requirement",
)


def read_reports(paths: list[Path]) -> list[tuple[str, LabReport]]:
    """Every report in the files, with a source label for messages; all or nothing."""
    out: list[tuple[str, LabReport]] = []
    errors: list[str] = []
    for path in paths:
        try:
            out.extend(read_report_file(path))
        except InputError as e:
            errors.append(str(e))
    if errors:
        raise InputError("\n".join(errors))
    return out


def read_report_file(path: Path) -> list[tuple[str, LabReport]]:
    text = read_text(path)
    if path.suffix.lower() == ".csv":
        return reports_from_csv(text, str(path))
    data = parse_document(text, str(path))
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a lab report object")
    return [(str(path), report_from_data(data, str(path)))]


def report_from_data(data: dict[str, Any], source: str) -> LabReport:
    try:
        return LabReport.model_validate(data)
    except ValidationError as e:
        raise InputError(describe_validation_error(e, f"{source}: ")) from None


def _products(text: str, where: str) -> list[dict[str, str]]:
    products = []
    for entry in filter(None, (p.strip() for p in text.split(";"))):
        item: dict[str, str] = {}
        for pair in filter(None, (x.strip() for x in entry.split(","))):
            key, sep, value = pair.partition("=")
            if not sep or key.strip() not in ("sku", "model", "gtin"):
                raise InputError(f"{where}products: '{pair}' is not sku=..., model=... or gtin=...")
            item[key.strip()] = value.strip()
        products.append(item)
    return products


@malformed_csv_is_input_error
def reports_from_csv(text: str, source: str) -> list[tuple[str, LabReport]]:
    check_text(text, source)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    problems = csv_header_problems(header, REQUIRED_COLUMNS, REPORT_COLUMNS + RESULT_COLUMNS)
    if problems:
        raise InputError(f"{source}: header: {problems}")
    grouped: dict[str, tuple[dict[str, Any], list[tuple[int, dict[str, Any]]], int]] = {}
    errors: list[str] = []
    for line, raw in enumerate(reader, start=2):
        if problem := csv_row_problem(raw, header):
            errors.append(f"{source} line {line}: {problem}")
            continue
        row = {k.strip(): (v.strip() if isinstance(v, str) else v) or None for k, v in raw.items()}
        where = f"{source} line {line}: "
        head = {c: row.get(c) for c in REPORT_COLUMNS}
        number = head["report_no"]
        if not number:
            errors.append(f"{where}report_no: is required")
            continue
        result = {c: row.get(c) for c in RESULT_COLUMNS if row.get(c) is not None}
        if number in grouped:
            first, results, first_line = grouped[number]
            for c in REPORT_COLUMNS:
                if head[c] != first[c]:
                    errors.append(
                        f"{where}{c}: '{head[c]}' differs from line {first_line} of "
                        f"report {number} ('{first[c]}')"
                    )
            results.append((line, result))
        else:
            grouped[number] = (head, [(line, result)], line)
    if errors:
        raise InputError("\n".join(errors))
    out = []
    for number, (head, results, first_line) in grouped.items():
        where = f"{source} line {first_line}: "
        data: dict[str, Any] = {
            "report_no": number,
            "lab": {
                "cpsc_id": head["lab_cpsc_id"],
                "name": head["lab_name"],
                "address": head["lab_address"],
                "phone": head["lab_phone"],
            },
            "issued": head["issued"],
            "tested": {
                "from": head["tested_from"],
                "to": head["tested_to"],
                "place": head["tested_place"],
            },
            "products": _products(head["products"] or "", where),
            "standard": head["standard"],
            "results": [r for _, r in results],
        }
        if head["age_min_months"] is not None:
            data["age_grade"] = {"min_months": head["age_min_months"]}
        lines = [ln for ln, _ in results]

        def locate(loc: tuple[Any, ...], lines: list[int] = lines, first: int = first_line) -> str:
            if len(loc) >= 2 and loc[0] == "results" and isinstance(loc[1], int):
                return f"{source} line {lines[loc[1]]}: "
            return f"{source} line {first}: "

        try:
            out.append((f"{source} ({number})", LabReport.model_validate(data)))
        except ValidationError as e:
            errors.append(describe_validation_error(e, locs=locate))
    if errors:
        raise InputError("\n".join(errors))
    return out

"""Read the program's files: the policy (8.1) and the marketplace feeds (8.2), strictly.

A feed is read whole before anything is written: one bad row is an InputError naming its line
and field, and nothing of the file is stored.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toysafe.core.law.dates import parse_date
from toysafe.core.program.policy import Policy
from toysafe.io.errors import InputError, describe_validation_error

CAUTIONARY = (
    "choking_hazard_small_parts",
    "choking_hazard_balloon",
    "choking_hazard_is_a_small_ball",
    "choking_hazard_contains_small_ball",
    "choking_hazard_is_a_marble",
    "choking_hazard_contains_a_marble",
    "no_warning_applicable",
)
LISTING_COLUMNS = (
    "listing_id",
    "seller",
    "category",
    "title",
    "brand",
    "model",
    "min_age_months",
    "cautionary_statement",
    "listed_on",
    "sku",
)
COMPLAINT_COLUMNS = ("complaint_id", "listing_id", "received_on", "reporter", "text")
LISTING_REQUIRED = ("listing_id", "seller", "category", "listed_on")
COMPLAINT_REQUIRED = ("complaint_id", "listing_id", "received_on", "text")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: cannot read: not UTF-8 text") from None


def policy_from_data(data: Any, source: str = "policy") -> Policy:
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping (toysafe/policy@1)")
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        raise InputError(describe_validation_error(e, f"{source}: ")) from None


def read_policy(path: Path) -> Policy:
    text = _read_text(path)
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise InputError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
    return policy_from_data(data, str(path))


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _blank_none(v: Any) -> Any:
    return None if v is None or (isinstance(v, str) and not v.strip()) else v


class ListingRow(_Row):
    """One listing of the marketplace feed (8.2)."""

    listing_id: str = Field(min_length=1, max_length=40)
    seller: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")
    category: str = Field(min_length=1, max_length=100)
    title: str | None = None
    brand: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=100)
    min_age_months: int | None = Field(default=None, ge=0, le=1200)
    cautionary_statement: str | None = None
    listed_on: date
    sku: str | None = Field(default=None, max_length=100)

    @field_validator(
        "title", "brand", "model", "min_age_months", "cautionary_statement", "sku", mode="before"
    )
    @classmethod
    def _empty(cls, v: Any) -> Any:
        return _blank_none(v)

    @field_validator("listed_on", mode="before")
    @classmethod
    def _day(cls, v: Any) -> Any:
        if isinstance(v, str):
            return parse_date(v)
        return v

    @field_validator("cautionary_statement")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is not None and v not in CAUTIONARY:
            raise ValueError(f"'{v}' is not one of {', '.join(CAUTIONARY)}")
        return v

    def attributes(self) -> dict[str, Any]:
        return self.model_dump(exclude={"listing_id", "seller"})


class ComplaintRow(_Row):
    complaint_id: str = Field(min_length=1, max_length=60)
    listing_id: str = Field(min_length=1, max_length=40)
    received_on: date
    reporter: str | None = Field(default=None, max_length=200)
    text: str = Field(min_length=1)

    @field_validator("reporter", mode="before")
    @classmethod
    def _empty(cls, v: Any) -> Any:
        return _blank_none(v)

    @field_validator("received_on", mode="before")
    @classmethod
    def _day(cls, v: Any) -> Any:
        if isinstance(v, str):
            return parse_date(v)
        return v


def _records(
    text: str, source: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> list[tuple[int, dict[str, Any]]]:
    """(line, record) pairs of a CSV file with a header row, or of JSON Lines."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{source}: line {n}: not valid JSON: {e.msg}") from None
            if not isinstance(rec, dict):
                raise InputError(f"{source}: line {n}: expected a JSON object")
            out.append((n, rec))
        return out
    try:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            raise InputError(f"{source}: empty file (expected a header row)")
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(f"{source}: line 1: missing column(s) {', '.join(missing)}")
        unknown = [h for h in header if h not in columns]
        if unknown:
            raise InputError(f"{source}: line 1: unknown column(s) {', '.join(unknown)}")
        out = []
        for cells in reader:
            n = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise InputError(
                    f"{source}: line {n}: {len(cells)} cells, the header has {len(header)}"
                )
            out.append((n, dict(zip(header, cells, strict=True))))
        return out
    except csv.Error as e:
        raise InputError(f"{source}: malformed CSV: {e}") from None


def _parse(
    text: str,
    source: str,
    columns: tuple[str, ...],
    required: tuple[str, ...],
    model: type[BaseModel],
    key: str,
) -> list[Any]:
    rows = []
    seen: dict[str, int] = {}
    for n, rec in _records(text, source, columns, required):
        try:
            row = model.model_validate(rec)
        except ValidationError as e:
            raise InputError(describe_validation_error(e, f"{source}: line {n}: ")) from None
        ident = getattr(row, key)
        if ident in seen:
            raise InputError(
                f"{source}: line {n}: {key}: '{ident}' appears twice (first on line {seen[ident]})"
            )
        seen[ident] = n
        rows.append(row)
    return rows


def parse_listings(text: str, source: str) -> list[ListingRow]:
    return _parse(text, source, LISTING_COLUMNS, LISTING_REQUIRED, ListingRow, "listing_id")


def parse_complaints(text: str, source: str) -> list[ComplaintRow]:
    return _parse(text, source, COMPLAINT_COLUMNS, COMPLAINT_REQUIRED, ComplaintRow, "complaint_id")


def read_listings_feed(path: Path) -> list[ListingRow]:
    return parse_listings(_read_text(path), str(path))


def read_complaints_feed(path: Path) -> list[ComplaintRow]:
    return parse_complaints(_read_text(path), str(path))

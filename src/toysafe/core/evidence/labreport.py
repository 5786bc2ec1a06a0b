"""Lab reports (contract section 4, ``toysafe/lab-report@1``) as validated models."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from toysafe.core.plain import plain_text

_BELOW = re.compile(r"^<\s*(\d{1,15}(\.\d{1,15})?)$")
Verdict = Literal["pass", "fail", "n/a"]


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        populate_by_name=True,
        allow_inf_nan=False,
    )

    _plain = field_validator("*")(plain_text)


class ReportLab(_Strict):
    cpsc_id: str = Field(pattern=r"^\d{4}$")
    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=1000)
    phone: str | None = Field(default=None, max_length=60)


class Tested(_Strict):
    from_: date = Field(alias="from")
    to: date
    place: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> Tested:
        if self.to < self.from_:
            raise ValueError("'to' is before 'from'")
        return self


class ProductRef(_Strict):
    sku: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    gtin: str | None = Field(default=None, max_length=14)

    @model_validator(mode="after")
    def _named(self) -> ProductRef:
        if not (self.sku or self.model or self.gtin):
            raise ValueError("name the product by sku, model or gtin")
        return self


class Result(_Strict):
    requirement: str = Field(min_length=3, max_length=40)
    component: str | None = Field(default=None, max_length=100)
    analyte: str | None = Field(default=None, max_length=20)
    value: float | str | None = None
    loq: float | None = Field(default=None, ge=0)
    unit: str | None = Field(default=None, min_length=1, max_length=20)
    verdict: Verdict | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError("must be a number, 'ND' or '<LOQ'")
        if isinstance(v, str):
            text = v.strip()
            if text.upper() in ("ND", "N.D.", "NOT DETECTED"):
                return "ND"
            if _BELOW.match(text):
                return text.replace(" ", "")
            try:
                v = float(text)
            except ValueError:
                raise ValueError(f"'{v}' is not a number, 'ND' or '<LOQ'") from None
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{v} is not a finite number")
        if isinstance(v, int | float) and v < 0:
            raise ValueError("must not be negative")
        return v

    @model_validator(mode="after")
    def _complete(self) -> Result:
        if self.value is None and self.verdict is None:
            raise ValueError("a result needs a value or a verdict")
        if self.value is not None:
            if self.unit is None:
                raise ValueError("a measured value needs a unit")
            if self.analyte is None:
                raise ValueError("a measured value needs an analyte")
        return self

    @property
    def measured(self) -> float | None:
        return self.value if isinstance(self.value, float) else None

    @property
    def below(self) -> float | None:
        """The detection or quantitation limit of a non-detect, when known."""
        if self.value == "ND":
            return self.loq
        if isinstance(self.value, str) and (m := _BELOW.match(self.value)):
            return float(m[1])
        return None

    @property
    def not_detected(self) -> bool:
        return isinstance(self.value, str)


class AgeGrade(_Strict):
    min_months: int = Field(ge=0)
    max_months: int | None = Field(default=None, ge=0)


class LabReport(_Strict):
    format: Literal["toysafe/lab-report@1"] | None = None
    report_no: str = Field(min_length=1, max_length=100)
    lab: ReportLab
    issued: date
    tested: Tested
    products: list[ProductRef] = Field(min_length=1)
    age_grade: AgeGrade | None = None
    standard: str | None = None
    results: list[Result] = Field(min_length=1)

    @field_validator("standard")
    @classmethod
    def _standard(cls, v: str | None) -> str | None:
        if v is None:
            return v
        text = v.upper().replace("ASTM", "").replace(" ", "").replace("Ε", "E")
        if not re.match(r"^F963-\d\d(E1)?$", text):
            raise ValueError(f"'{v}' is not an ASTM F963 edition such as F963-23")
        return text.replace("E1", "e1")

    @model_validator(mode="after")
    def _dates(self) -> LabReport:
        if self.tested.to > self.issued:
            raise ValueError(
                f"tested.to {self.tested.to.isoformat()} is after the issue date "
                f"{self.issued.isoformat()}"
            )
        return self

    def names(self, sku: str, model: str | None, gtin: str | None) -> bool:
        """Whether the report names this product."""
        return any(
            (p.sku and p.sku == sku) or (model and p.model == model) or (gtin and p.gtin == gtin)
            for p in self.products
        )

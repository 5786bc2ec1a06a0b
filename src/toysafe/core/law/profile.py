"""The product profile (contract section 1, ``toysafe/product@1``) as a validated model."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from toysafe.core.law.dates import ManufactureDate
from toysafe.core.law.vocabulary import FEATURES, FIBERS, MATERIALS
from toysafe.core.plain import plain_text

CHILDREN_MAX_MONTHS = 144  # 12 years: CPSA section 3(a)(2), 16 CFR 1200.2
TOY_STANDARD_UNDER_MONTHS = 168  # 14 years: ASTM F963 section 1.3


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )

    _plain = field_validator("*")(plain_text)


class Age(_Strict):
    min_months: int = Field(ge=0, le=1200)
    max_months: int | None = Field(default=None, ge=0, le=1200)

    @model_validator(mode="after")
    def _ordered(self) -> Age:
        if self.max_months is not None and self.max_months < self.min_months:
            raise ValueError("max_months is below min_months")
        return self


class Place(_Strict):
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")


class Component(_Strict):
    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str | None = Field(default=None, max_length=1000)
    material: str
    accessible: bool = True
    mouth_contact: bool | None = None
    small_part: bool = False
    # Extensions: what the Commission's fibre determinations (16 CFR 1253) need to know.
    fiber: str | None = None
    unfinished: bool = False

    @field_validator("material")
    @classmethod
    def _known_material(cls, v: str) -> str:
        if v not in MATERIALS:
            raise ValueError(f"unknown material '{v}' (known: {', '.join(sorted(MATERIALS))})")
        return v

    @field_validator("fiber")
    @classmethod
    def _known_fiber(cls, v: str | None) -> str | None:
        if v is not None and v not in FIBERS:
            raise ValueError(f"unknown fiber '{v}' (known: {', '.join(FIBERS)})")
        return v


def gtin_check_digit_ok(gtin: str) -> bool:
    """GS1 mod-10 check digit.

    >>> gtin_check_digit_ok("00012345678905"), gtin_check_digit_ok("00012345678906")
    (True, False)
    """
    digits = [int(c) for c in gtin]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _normalise_features(raw: Any) -> dict[str, dict[str, Any]]:
    """Features arrive as ``name`` or ``{name: {params}}``; return ``{name: params}``."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ValueError("must be a list of feature names or {name: {parameters}}")
    out: dict[str, dict[str, Any]] = {}
    params: dict[str, Any]
    for i, item in enumerate(raw):
        if isinstance(item, str):
            name, params = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, params = next(iter(item.items()))
            params = {} if params is None else params
            if not isinstance(params, dict):
                raise ValueError(f"[{i}] {name}: parameters must be a mapping")
        else:
            raise ValueError(f"[{i}] must be a feature name or {{name: {{parameters}}}}")
        feature = FEATURES.get(name)
        if feature is None:
            raise ValueError(f"[{i}] unknown feature '{name}'")
        for key, value in params.items():
            spec = feature.params.get(key)
            if spec is None:
                raise ValueError(f"[{i}] {name}: unknown parameter '{key}'")
            if spec is bool and not isinstance(value, bool):
                raise ValueError(f"[{i}] {name}.{key}: must be true or false")
            if isinstance(spec, tuple) and value not in spec:
                raise ValueError(f"[{i}] {name}.{key}: '{value}' is not one of {', '.join(spec)}")
        if name in out:
            raise ValueError(f"[{i}] feature '{name}' is listed twice")
        out[name] = dict(params)
    return out


class AgeDetermination(_Strict):
    """An age grade set by CPSC (or a court) that overrides the label: under 16 CFR 1200.2(a)
    the manufacturer's stated age counts only when reasonable, and the Commission may find a
    product labelled 14+ to be for younger children (the magnet-set recalls)."""

    min_months: int = Field(ge=0, le=1200)
    by: str = Field(min_length=3)  # who determined it and where (e.g. a recall notice)


class ProfileManufacturer(_Strict):
    """The finished product's manufacturer (contract 1, since 1.1)."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=5)
    phone: str | None = Field(default=None, min_length=5)


class Profile(_Strict):
    """A product as its seller describes it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        arbitrary_types_allowed=True,
        allow_inf_nan=False,
    )

    format: Literal["toysafe/product@1"] | None = None
    sku: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=1000)
    brand: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=100)
    gtin: str | None = None
    asins: list[str] = Field(default_factory=list)
    age: Age
    children_product: bool | None = None
    toy: bool = True
    manufactured: ManufactureDate | None = None
    made_in: Place | None = None
    manufacturer: ProfileManufacturer | None = None
    # Extension: an age determination that outranks the labelled age.
    age_determination: AgeDetermination | None = None
    features: dict[str, dict[str, Any]] = Field(default_factory=dict)
    components: list[Component] = Field(default_factory=list)
    # Extension: 16 CFR 1107.21 periodic-testing plan (used by tracking).
    testing_plan: Literal["periodic", "production", "iso17025"] | None = None

    @field_validator("gtin", mode="before")
    @classmethod
    def _gtin(cls, v: Any) -> Any:
        if v is None:
            return v
        text = str(v).strip()
        if not text.isdigit() or len(text) not in (8, 12, 13, 14):
            raise ValueError("must be 8, 12, 13 or 14 digits")
        if not gtin_check_digit_ok(text):
            raise ValueError(f"check digit of '{text}' is wrong")
        return text

    @field_validator("manufactured", mode="before")
    @classmethod
    def _manufactured(cls, v: Any) -> Any:
        if v is None or isinstance(v, ManufactureDate):
            return v
        if isinstance(v, date):
            return ManufactureDate.parse(v)
        if not isinstance(v, str):
            raise ValueError("must be YYYY-MM or YYYY-MM-DD")
        return ManufactureDate.parse(v)

    @field_validator("features", mode="before")
    @classmethod
    def _features(cls, v: Any) -> Any:
        return _normalise_features(v)

    @field_validator("components")
    @classmethod
    def _unique_components(cls, v: list[Component]) -> list[Component]:
        seen: set[str] = set()
        for i, c in enumerate(v):
            if c.id in seen:
                raise PydanticCustomError(
                    "duplicate_component_id",
                    "[{index}].id: duplicate component id '{id}'",
                    {"index": i, "id": c.id},
                )
            seen.add(c.id)
        return v

    def to_data(self) -> dict[str, Any]:
        """The profile as contract data (``toysafe/product@1``), ready for YAML or JSON."""
        data = self.model_dump(mode="python", exclude_none=True, exclude={"features"})
        data["format"] = "toysafe/product@1"
        if self.manufactured is not None:
            data["manufactured"] = self.manufactured.text
        data["features"] = [
            name if not params else {name: params} for name, params in self.features.items()
        ]
        data["components"] = [
            c.model_dump(exclude_none=True, exclude_defaults=False) for c in self.components
        ]
        return data

    @property
    def judged_min_months(self) -> int:
        """The youngest intended user the law sees: an age determination, else the label."""
        if self.age_determination is not None:
            return self.age_determination.min_months
        return self.age.min_months

    @property
    def is_children_product(self) -> bool:
        if self.children_product is not None:
            return self.children_product
        return self.judged_min_months <= CHILDREN_MAX_MONTHS

    @property
    def in_toy_standard_scope(self) -> bool:
        return self.toy and self.judged_min_months < TOY_STANDARD_UNDER_MONTHS

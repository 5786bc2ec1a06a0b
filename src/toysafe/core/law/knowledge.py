"""The knowledge base as typed, strictly validated data.

Files are parsed elsewhere (``toysafe.io.kb``); this module only checks and compiles the
mappings they hold. Any unknown key, missing citation or malformed condition is an error.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from toysafe.core.law.conditions import (
    ComponentTest,
    Condition,
    compile_component_filter,
    compile_condition,
)
from toysafe.core.law.facts import Edition
from toysafe.core.law.vocabulary import MATERIALS

Confidence = Literal["confirmed", "secondary", "unconfirmed"]
REQUIREMENT_ID = re.compile(
    r"^(F963:\d+(\.\d+)*(\(\d+\))?(\.\d+)?|16CFR\d+(\.\d+)?(\([a-z0-9]+\))*|15USC\d+[a-z]?(\([a-z0-9]+\))*)$"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Reference(_Strict):
    title: str = Field(min_length=3)
    href: str = Field(pattern=r"^https?://\S+$")


class Effective(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    basis: Literal["manufacture", "as_of"] = "manufacture"
    note: str | None = None

    @model_validator(mode="after")
    def _explained(self) -> Effective:
        if self.from_ is None and not self.note:
            raise ValueError("an effective block without 'from' must say why in 'note'")
        return self


class ComponentRule(_Strict):
    """Which components a per-material rule looks at, and which determinations may exempt them."""

    select: dict[str, Any]
    exempt_by: list[str] = Field(default_factory=list)
    required: bool = True
    none_reason: str | None = None

    @cached_property
    def test(self) -> ComponentTest:
        return compile_component_filter(self.select)

    @model_validator(mode="after")
    def _check(self) -> ComponentRule:
        _ = self.test
        if self.required and not self.none_reason:
            raise ValueError("none_reason is required when components are required")
        return self


class Exception_(_Strict):
    """A labelled exception: when it holds, the requirement is set aside for this reason."""

    id: str
    citation: str = Field(min_length=3)
    when: dict[str, Any]
    reason: str = Field(min_length=3)


class Statement(_Strict):
    """A cautionary statement the law prescribes word for word."""

    key: str = Field(pattern=r"^[a-z_]+$")
    citation: str = Field(min_length=3)
    when: dict[str, Any]
    text: str = Field(min_length=10)
    #: The same words in plain ASCII, for channels that cannot carry the printed characters.
    text_ascii: str | None = None

    @model_validator(mode="after")
    def _ascii(self) -> Statement:
        if self.text_ascii is not None and not self.text_ascii.isascii():
            raise ValueError("text_ascii must be plain ASCII")
        return self

    @property
    def ascii(self) -> str:
        """The ASCII form: given, or the printed text with its dashes spelled as ASCII."""
        if self.text_ascii is not None:
            return self.text_ascii
        return self.text.replace("\u2014", "--").replace("\u2013", "-")


class Violation(_Strict):
    """A situation the rule bans outright; reported as an alert."""

    when: dict[str, Any]
    message: str = Field(min_length=10)


class Limit(_Strict):
    """The highest measured value that passes, for one analyte, as the rule words it.

    Every rule encoded here bans *more than* the limit, so a value equal to ``max`` passes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    analyte: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    max: float = Field(gt=0)
    unit: str = Field(min_length=1)
    applies_to: dict[str, Any] | None = None
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    basis: Literal["manufacture", "as_of"] = "manufacture"
    required: bool = True
    citation: str = Field(min_length=3)
    confidence: Confidence
    note: str | None = None

    @cached_property
    def test(self) -> ComponentTest | None:
        return None if self.applies_to is None else compile_component_filter(self.applies_to)

    @model_validator(mode="after")
    def _check(self) -> Limit:
        _ = self.test
        if self.from_ and self.to and self.from_ >= self.to:
            raise ValueError("limit 'from' must be before 'to'")
        return self

    def in_force(self, made: date, as_of: date) -> bool:
        when = made if self.basis == "manufacture" else as_of
        return (self.from_ is None or self.from_ <= when) and (self.to is None or when < self.to)


class DatedDuty(_Strict):
    """When a duty began, by date of manufacture (products made before it do not owe it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: date = Field(alias="from")
    citation: str = Field(min_length=3)
    confidence: Confidence
    note: str | None = None


class EditionCitation(_Strict):
    """The citation to use instead of the usual one for products judged under these editions."""

    editions: list[str] = Field(min_length=1)
    citation: str = Field(min_length=3)
    note: str | None = None


class TestingInfo(_Strict):
    """What a lab does for this requirement (used for test plans and quotes)."""

    method: str | None = None
    sample: str | None = None
    analytes: list[str] = Field(default_factory=list)


class Requirement(_Strict):
    kind: Literal["requirement"]
    id: str
    title: str = Field(min_length=3)
    citation: str = Field(min_length=3)
    instrument: Literal["astm_f963", "cfr", "usc"]
    section: str | None = None
    scope: Literal["toy_standard", "children_product", "toy", "any"] = "any"
    effective: Effective
    since_edition: str | None = None
    restates: str | None = None
    exceptions: list[Exception_] = Field(default_factory=list)
    applies_when: dict[str, Any] | None = None
    statements: list[Statement] = Field(default_factory=list)
    components: ComponentRule | None = None
    third_party_testing: bool
    third_party_basis: str = Field(min_length=3)
    third_party_confidence: Confidence = "confirmed"
    third_party_when: dict[str, Any] | None = None
    third_party_otherwise: str | None = None
    #: Third-party testing is owed only by products made on or after this date.
    third_party_duty: DatedDuty | None = None
    cite_as: list[EditionCitation] = Field(default_factory=list)
    certificate_rule: bool = True
    violations: list[Violation] = Field(default_factory=list)
    testing: TestingInfo | None = None
    limits: list[Limit] = Field(default_factory=list)
    summary: str = Field(min_length=10)
    confidence: Confidence
    notes: str | None = None
    references: list[Reference] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id_form(cls, v: str) -> str:
        if not REQUIREMENT_ID.match(v):
            raise ValueError(f"'{v}' is not a requirement id built from its citation")
        return v

    @model_validator(mode="after")
    def _compile(self) -> Requirement:
        if self.instrument == "astm_f963":
            if not self.section or self.id != f"F963:{self.section}":
                raise ValueError("an F963 requirement needs section matching its id")
            if "{edition}" not in self.citation:
                raise ValueError("an F963 citation must carry the {edition} placeholder")
        if self.third_party_when is not None and not self.third_party_otherwise:
            raise ValueError("third_party_when needs third_party_otherwise")
        for name in ("applies_when", "third_party_when", "exceptions", "statements", "violations"):
            _ = getattr(self, f"{name}_compiled")
        return self

    @cached_property
    def applies_when_compiled(self) -> Condition | None:
        if self.applies_when is None:
            return None
        return compile_condition(self.applies_when, f"{self.id} applies_when")

    @cached_property
    def third_party_when_compiled(self) -> Condition | None:
        if self.third_party_when is None:
            return None
        return compile_condition(self.third_party_when, f"{self.id} third_party_when")

    @cached_property
    def exceptions_compiled(self) -> list[tuple[Exception_, Condition]]:
        return [
            (e, compile_condition(e.when, f"{self.id} exception {e.id}")) for e in self.exceptions
        ]

    @cached_property
    def statements_compiled(self) -> list[tuple[Statement, Condition]]:
        return [
            (s, compile_condition(s.when, f"{self.id} statement {s.key}")) for s in self.statements
        ]

    @cached_property
    def violations_compiled(self) -> list[tuple[Violation, Condition]]:
        return [(v, compile_condition(v.when, f"{self.id} violation")) for v in self.violations]

    def cite(self, edition: str | None) -> str:
        """The citation with the edition in force filled in (F963 provisions)."""
        text = self._citations.get(edition)
        if text is None:
            template = next(
                (c.citation for c in self.cite_as if edition in c.editions), self.citation
            )
            text = self._citations[edition] = template.replace("{edition}", edition or "F963")
        return text

    @property
    def third_party_duty_from(self) -> str | None:
        return self.third_party_duty.from_.isoformat() if self.third_party_duty else None

    @property
    def basis(self) -> Literal["manufacture", "sale"]:
        """Which date decides whether the rule reaches a product (contract 3, v1.1)."""
        return "sale" if self.effective.basis == "as_of" else "manufacture"

    @cached_property
    def _citations(self) -> dict[str | None, str]:
        return {}

    @cached_property
    def effective_window(self) -> tuple[str | None, str | None]:
        e = self.effective
        return (e.from_.isoformat() if e.from_ else None, e.to.isoformat() if e.to else None)

    @cached_property
    def sort_key(self) -> tuple[int, tuple[Any, ...]]:
        group = {"astm_f963": 0, "cfr": 1, "usc": 2}[self.instrument]
        parts = re.findall(
            r"\d+|[a-z]+", self.id.split(":", 1)[-1].replace("16CFR", "").replace("15USC", "")
        )
        return group, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


class DeterminedMaterial(_Strict):
    material: str
    when: dict[str, Any] | None = None
    note: str = Field(min_length=3)
    confidence: Confidence = "confirmed"

    @field_validator("material")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in MATERIALS:
            raise ValueError(f"unknown material '{v}'")
        return v

    @cached_property
    def test(self) -> ComponentTest | None:
        return None if self.when is None else compile_component_filter(self.when)

    @model_validator(mode="after")
    def _check(self) -> DeterminedMaterial:
        _ = self.test
        return self


class Determination(_Strict):
    """A Commission determination (or CPSC policy, or F963 scope note) about materials."""

    kind: Literal["determination"]
    id: str = Field(pattern=r"^[A-Za-z0-9:._()-]+$")
    title: str = Field(min_length=3)
    citation: str = Field(min_length=3)
    effect: Literal["no_testing", "out_of_scope"]
    covers: list[str] = Field(min_length=1)
    effective_from: date
    editions: list[str] | None = None
    materials: list[DeterminedMaterial] = Field(min_length=1)
    summary: str = Field(min_length=10)
    confidence: Confidence
    references: list[Reference] = Field(min_length=1)


class EditionEntry(_Strict):
    id: str = Field(pattern=r"^F963-\d\d(e1)?$")
    effective_from: date
    federal_register: str | None = None
    note: str | None = None
    confidence: Confidence
    references: list[Reference] = Field(min_length=1)


class Editions(_Strict):
    kind: Literal["editions"]
    title: str
    editions: list[EditionEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _ascending(self) -> Editions:
        dates = [e.effective_from for e in self.editions]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("editions must be listed by ascending, distinct effective date")
        return self


class ParameterValue(_Strict):
    months: int = Field(gt=0)
    citation: str = Field(min_length=3)
    note: str | None = None


class Parameters(_Strict):
    """Named, cited numbers the rules use (certification period, periodic-testing intervals)."""

    kind: Literal["parameters"]
    id: str = Field(pattern=r"^[A-Za-z0-9:._()-]+$")
    title: str = Field(min_length=3)
    citation: str = Field(min_length=3)
    values: dict[str, ParameterValue] = Field(min_length=1)
    summary: str = Field(min_length=10)
    confidence: Confidence
    references: list[Reference] = Field(min_length=1)


class Duty(_Strict):
    """A duty of the law that starts on a date of manufacture (e.g. CPSIA certification)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[a-z_]+$")
    from_: date = Field(alias="from")
    citation: str = Field(min_length=3)
    summary: str = Field(min_length=10)
    confidence: Confidence
    references: list[Reference] = Field(min_length=1)


class Duties(_Strict):
    """Dated duties that are not one requirement's: certification under CPSA section 14(a)."""

    kind: Literal["duties"]
    title: str = Field(min_length=3)
    duties: list[Duty] = Field(min_length=1)


class KnowledgeBaseError(ValueError):
    """The knowledge base is inconsistent."""


class KnowledgeBase:
    """All requirements, determinations and editions, cross-checked."""

    def __init__(
        self,
        requirements: list[Requirement],
        determinations: list[Determination],
        editions: Editions,
        parameters: list[Parameters] | None = None,
        duties: list[Duty] | None = None,
        rules_version: str = "unversioned",
    ) -> None:
        # Which rules these are (release + content hash, computed by the loader): carried into
        # every assessment, verification, certificate and stored state they decide.
        self.rules_version = rules_version
        self.requirements = sorted(requirements, key=lambda r: r.sort_key)
        self.by_id = {r.id: r for r in self.requirements}
        self.statement_requirements = [r for r in self.requirements if r.statements]
        if len(self.by_id) != len(requirements):
            dupes = sorted(
                {r.id for r in requirements if [x.id for x in requirements].count(r.id) > 1}
            )
            raise KnowledgeBaseError(f"duplicate requirement ids: {dupes}")
        self.determinations = {d.id: d for d in determinations}
        if len(self.determinations) != len(determinations):
            raise KnowledgeBaseError("duplicate determination ids")
        self.editions = [
            Edition(e.id, e.effective_from, rank) for rank, e in enumerate(editions.editions)
        ]
        self.edition_entries = {e.id: e for e in editions.editions}
        self.parameters = {p.id: p for p in parameters or []}
        self.duties = {d.id: d for d in duties or []}
        self._cross_check()

    def _cross_check(self) -> None:
        edition_ids = {e.id for e in self.editions}
        for r in self.requirements:
            for ref in filter(None, [r.restates]):
                if ref not in self.by_id:
                    raise KnowledgeBaseError(f"{r.id}: restates unknown requirement {ref}")
            if r.since_edition and r.since_edition not in edition_ids:
                raise KnowledgeBaseError(f"{r.id}: unknown edition {r.since_edition}")
            for alt in r.cite_as:
                for e in alt.editions:
                    if e not in edition_ids:
                        raise KnowledgeBaseError(f"{r.id}: cite_as names unknown edition {e}")
            if r.components:
                for d in r.components.exempt_by:
                    det = self.determinations.get(d)
                    if det is None:
                        raise KnowledgeBaseError(f"{r.id}: exempt_by unknown determination {d}")
                    if r.id not in det.covers:
                        raise KnowledgeBaseError(f"{r.id}: determination {d} does not cover it")
        for det in self.determinations.values():
            for c in det.covers:
                if c not in self.by_id:
                    raise KnowledgeBaseError(f"{det.id}: covers unknown requirement {c}")
            for e in det.editions or []:
                if e not in edition_ids:
                    raise KnowledgeBaseError(f"{det.id}: unknown edition {e}")

    def months(self, parameters_id: str, key: str) -> ParameterValue:
        """A cited number of months, e.g. ``months("16CFR1107.21", "periodic")``."""
        try:
            return self.parameters[parameters_id].values[key]
        except KeyError:
            raise KnowledgeBaseError(f"no parameter {parameters_id}.{key}") from None

    def edition_for(self, made: date) -> Edition | None:
        """The latest edition whose effective date is on or before ``made``."""
        found = None
        for e in self.editions:
            if e.effective_from <= made:
                found = e
        return found

    def edition(self, edition_id: str) -> Edition:
        for e in self.editions:
            if e.id == edition_id:
                return e
        raise KeyError(edition_id)

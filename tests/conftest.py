"""Shared fixtures and the collector of YAML requirement cases (``tests/cases/**/*.yaml``).

Each case file names one requirement and lists cases; each case is a profile (merged over a
small base profile) and what the assessment must say about that requirement.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer.testing
import yaml
from hypothesis import settings as hypothesis_settings

from tests.spark_fixtures import spark  # noqa: F401 - one Spark session for the run
from tests.store_fixtures import db, empty_ws_env, store, ws_env  # noqa: F401 - fixtures for every test module
from toysafe.core.law.assessment import Assessment
from toysafe.core.law.engine import assess
from toysafe.io.kb import default_kb
from toysafe.io.profiles import profile_from_data

# In CI the property tests replay the same examples every run (reproducible); locally they explore.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# Users made by tests get the cheapest Argon2id hash (the default costs about 0.3 s a password, and
# the suite signs in thousands of times); tests/test_web_security.py checks the default's cost.
os.environ.setdefault("TOYSAFE_PASSWORD_HASH_COST", "minimum")

# typer's CliRunner rebuilds the whole click command tree on every invoke (about 0.3 s for this
# CLI, most of a short test's time). The tree depends only on the app, so build it once.
_build_command = typer.testing._get_command
_commands: dict[int, Any] = {}


def _command_once(app: Any) -> Any:
    if id(app) not in _commands:
        _commands[id(app)] = (app, _build_command(app))  # the app is kept so its id stays its own
    return _commands[id(app)][1]


typer.testing._get_command = _command_once  # type: ignore[attr-defined]

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_AS_OF = date(2026, 11, 21)
BASE_PROFILE: dict[str, Any] = {
    "sku": "CASE-1",
    "name": "Test toy",
    "age": {"min_months": 36},
    "manufactured": "2025-03",
    "made_in": {"city": "Ningbo", "country": "CN"},
}
CASE_KEYS = {"name", "as_of", "profile", "expect", "note"}
EXPECT_KEYS = {
    "applies",
    "third_party_testing",
    "components",
    "excluded_components",
    "reasons_include",
    "certificate",
    "toy_standard",
    "children_product",
    "warnings",
    "alerts_include",
    "citation_includes",
    "basis",
    "notes_include",
}


def run_case_profile(profile: dict[str, Any], as_of: date = DEFAULT_AS_OF) -> Assessment:
    return assess(profile_from_data({**BASE_PROFILE, **profile}, "case"), default_kb(), as_of)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and CASES_DIR in file_path.parents:
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    def collect(self) -> Any:
        data = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or set(data) != {"requirement", "cases"}:
            raise CaseFormatError(f"{self.path}: needs exactly 'requirement' and 'cases'")
        for i, case in enumerate(data["cases"]):
            name = case.get("name") or f"case {i}"
            yield CaseItem.from_parent(self, name=name, requirement=data["requirement"], case=case)


class CaseFormatError(Exception):
    pass


class CaseItem(pytest.Item):
    def __init__(self, *, requirement: str, case: dict[str, Any], **kw: Any) -> None:
        super().__init__(**kw)
        self.requirement = requirement
        self.case = case

    def runtest(self) -> None:
        case = self.case
        unknown = set(case) - CASE_KEYS
        if unknown:
            raise CaseFormatError(f"unknown case keys {sorted(unknown)}")
        expect = case["expect"]
        unknown = set(expect) - EXPECT_KEYS
        if unknown:
            raise CaseFormatError(f"unknown expect keys {sorted(unknown)}")
        as_of = case.get("as_of", DEFAULT_AS_OF)
        if isinstance(as_of, str):
            as_of = date.fromisoformat(as_of)
        result = run_case_profile(case.get("profile", {}), as_of)
        check_expectations(result, self.requirement, expect)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        return f"{self.path.name} :: {self.name}\n{excinfo.value}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.requirement}: {self.name}"


def check_expectations(result: Assessment, rid: str, expect: dict[str, Any]) -> None:
    applied = result.requirement(rid)
    na = next((n for n in result.not_applicable if n.id == rid), None)
    assert applied is not None or na is not None, f"{rid} is neither applicable nor set aside"
    if "applies" in expect:
        want = expect["applies"]
        got_reasons = applied.reasons if applied else na.reasons  # type: ignore[union-attr]
        assert (applied is not None) == want, (
            f"{rid}: expected applies={want}, got {applied is not None}; reasons: {got_reasons}"
        )
    reasons = applied.reasons if applied else na.reasons  # type: ignore[union-attr]
    for text in expect.get("reasons_include", []):
        assert any(text in r for r in reasons), f"{rid}: no reason contains {text!r}: {reasons}"
    if "third_party_testing" in expect:
        assert applied is not None, f"{rid}: does not apply, cannot check third_party_testing"
        assert applied.third_party_testing == expect["third_party_testing"], (
            f"{rid}: third_party_testing {applied.third_party_testing}; reasons {applied.reasons}"
        )
    if "components" in expect:
        assert applied is not None, f"{rid}: does not apply, cannot check components"
        got = {c.id: c.third_party_testing for c in applied.components}
        assert got == expect["components"], f"{rid}: components {got}, reasons " + str(
            [c.reasons for c in applied.components]
        )
    if "excluded_components" in expect:
        assert applied is not None
        assert sorted(cid for cid, _ in applied.excluded_components) == sorted(
            expect["excluded_components"]
        )
    for key in ("certificate", "toy_standard", "children_product"):
        if key in expect:
            assert getattr(result, key) == expect[key], f"{key}: {getattr(result, key)!r}"
    if "warnings" in expect:
        assert sorted(w.key for w in result.warnings) == sorted(expect["warnings"]), (
            f"warnings: {[w.key for w in result.warnings]}"
        )
    for text in expect.get("alerts_include", []):
        assert any(text in a.message for a in result.alerts), f"alerts: {result.alerts}"
    decided = applied if applied is not None else na
    assert decided is not None
    if "citation_includes" in expect:
        assert expect["citation_includes"] in decided.citation, f"citation: {decided.citation}"
    if "basis" in expect:
        assert decided.basis == expect["basis"], f"{rid}: basis {decided.basis}"
    for text in expect.get("notes_include", []):
        assert any(text in n for n in result.note_texts), f"notes: {result.note_texts}"

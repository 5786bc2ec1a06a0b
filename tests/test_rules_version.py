"""``rules_version`` (contract 3, since 1.1): which knowledge base decided, in every assessment,
verification, certificate, audit pack and stored state; states made under other rules are
recomputed when read."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import date
from pathlib import Path

from sqlalchemy import select, update

from toysafe.core.certificates.certificate import build_certificate
from toysafe.core.evidence.labs import LabRow
from toysafe.core.evidence.verify import verify
from toysafe.core.law.engine import assess
from toysafe.io.kb import KB_DIR, default_kb, load_kb
from toysafe.io.labs import read_labs
from toysafe.io.profiles import read_profile
from toysafe.io.reports import read_reports
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.workspace import Workspace
from toysafe.usecases.certify import read_party

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
STACKER = EX / "products" / "painted-wooden-stacker.yaml"
PASSING = [
    EX / "reports" / "stacker-chemistry-pass.json",
    EX / "reports" / "stacker-mechanical-pass.csv",
]
AS_OF = date(2026, 11, 21)


def test_the_same_rules_give_the_same_version_and_a_changed_rule_another(tmp_path: Path) -> None:
    version = default_kb().rules_version
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*\+kb\.[0-9a-f]{12}", version)
    copy = tmp_path / "kb"
    shutil.copytree(KB_DIR, copy)
    assert load_kb(copy).rules_version == version
    rule = sorted(copy.rglob("*.yaml"))[5]
    rule.write_text(
        rule.read_text(encoding="utf-8") + "\n# a comment is a change\n", encoding="utf-8"
    )
    assert load_kb(copy).rules_version != version


def test_assessment_verification_and_certificate_carry_it() -> None:
    kb = default_kb()
    profile = read_profile(STACKER)
    reports = [r for _, r in read_reports(PASSING)]
    registry = read_labs(EX / "labs.csv")
    a = assess(profile, kb, AS_OF)
    v = verify(profile, a, reports, kb, AS_OF, registry)
    assert a.to_dict()["rules_version"] == v.to_dict()["rules_version"] == kb.rules_version
    doc = build_certificate(profile, a, v, reports, registry, read_party(EX / "party.yaml"), AS_OF)
    assert doc["certificate"]["rules_version"] == kb.rules_version


def _state_versions(store: Store) -> list[str | None]:
    with store.reader() as s:
        return list(s.scalars(select(m.ProductState.rules_version)))


def test_states_made_under_other_rules_are_recomputed_when_read(store: Store) -> None:
    ws = Workspace(store, who="test")
    ws.init(read_party(EX / "party.yaml").model_dump(mode="json", exclude_none=True))
    with (EX / "labs.csv").open(encoding="utf-8") as fh:
        rows = [
            LabRow.model_validate({k: v for k, v in r.items() if v}) for r in csv.DictReader(fh)
        ]
    ws.import_labs(rows, AS_OF)
    ws.add_profiles([read_profile(STACKER)], AS_OF)
    ws.add_reports(read_reports(PASSING), AS_OF)
    current = default_kb().rules_version
    assert _state_versions(store) == [current]
    before = [x.to_dict() for x in ws.statuses(AS_OF)]
    with store.transaction() as s:  # as if computed by older rules, or before versions
        s.execute(update(m.ProductState).values(rules_version="0.0.1+kb.000000000000"))
    assert [x.to_dict() for x in ws.statuses(AS_OF)] == before
    assert _state_versions(store) == [current]
    with store.transaction() as s:
        s.execute(update(m.ProductState).values(rules_version=None))
    assert ws.status("MM-STK-07", AS_OF) is not None
    assert _state_versions(store) == [current]
    with store.reader() as s:
        kinds = list(s.scalars(select(m.Event.kind).where(m.Event.kind == "refresh.rules")))
    assert kinds == ["refresh.rules", "refresh.rules"]

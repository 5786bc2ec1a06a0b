"""The import rules of the layout, checked on the source: the core (toysafe.core) is pure. It
imports no adapter (database, web, dataframes), none of toysafe's outer layers, touches no
file and reads no clock; dates are passed in."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).parent.parent / "src" / "toysafe" / "core"

# Top-level modules the core must not import: adapters, and the filesystem / process.
FORBIDDEN_MODULES = {
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "ibis",
    "duckdb",
    "pyspark",
    "pathlib",
    "os",
    "shutil",
    "tempfile",
    "glob",
    "io",
    "requests",
    "httpx",
}
# toysafe's outer layers: io (files), store (database), web, cli, render, use cases, settings.
FORBIDDEN_PACKAGES = {
    "toysafe.io",
    "toysafe.store",
    "toysafe.web",
    "toysafe.cli",
    "toysafe.render",
    "toysafe.usecases",
    "toysafe.settings",
}
# Calls that read the clock or touch files: ``<name>.<attr>(...)`` and bare builtins.
CLOCK_CALLS = {
    ("date", "today"),
    ("datetime", "now"),
    ("datetime", "today"),
    ("datetime", "utcnow"),
}
CLOCK_CALLS |= {("time", "time"), ("time", "monotonic"), ("time", "perf_counter")}
FORBIDDEN_BUILTINS = {"open", "input"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(CORE.parent.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _absolute(module: str | None, level: int, here: str, is_package: bool) -> str:
    """``from ..x import y`` in ``here`` -> the absolute module name."""
    if level == 0:
        return module or ""
    base = here.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _forbidden(name: str) -> bool:
    top = name.split(".")[0]
    return top in FORBIDDEN_MODULES or any(
        name == p or name.startswith(p + ".") for p in FORBIDDEN_PACKAGES
    )


def violations(source: str, module: str = "toysafe.core.x", is_package: bool = False) -> list[str]:
    """Every broken import rule in one module's source, as 'line: what'."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if _forbidden(a.name)]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node.module, node.level, module, is_package)
            if _forbidden(target):
                found.append(f"{node.lineno}: from {target} import ...")
            else:  # ``from toysafe import store``
                found += [
                    f"{node.lineno}: from {target} import {a.name}"
                    for a in node.names
                    if _forbidden(f"{target}.{a.name}")
                ]
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in FORBIDDEN_BUILTINS:
                found.append(f"{node.lineno}: {f.id}()")
            elif isinstance(f, ast.Attribute):
                owner = f.value
                name = (
                    owner.id
                    if isinstance(owner, ast.Name)
                    else owner.attr
                    if isinstance(owner, ast.Attribute)
                    else None
                )
                if (name, f.attr) in CLOCK_CALLS:
                    found.append(f"{node.lineno}: {name}.{f.attr}()")
                if f.attr in {"read_text", "read_bytes", "write_text", "write_bytes", "open"}:
                    found.append(f"{node.lineno}: .{f.attr}() (file access)")
        elif isinstance(node, ast.Name) and node.id == "__import__":
            found.append(f"{node.lineno}: __import__")
    return found


CORE_MODULES = sorted(CORE.rglob("*.py"))


def test_the_core_has_modules() -> None:
    assert len(CORE_MODULES) > 15 and {p.parent.name for p in CORE_MODULES} >= {
        "law",
        "evidence",
        "certificates",
        "catalog",
        "program",
    }


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: str(p.relative_to(CORE)))
def test_the_core_imports_no_adapter_touches_no_file_reads_no_clock(path: Path) -> None:
    problems = violations(
        path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py"
    )
    assert not problems, f"{path.relative_to(CORE.parent.parent)}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        "import sqlalchemy",
        "from sqlalchemy.orm import Session",
        "import fastapi.routing",
        "from starlette.requests import Request",
        "import ibis",
        "import duckdb",
        "from pyspark.sql import SparkSession",
        "from pathlib import Path",
        "import os",
        "from toysafe.store import models",
        "from toysafe import store",
        "from toysafe.io.kb import default_kb",
        "from toysafe.web.api import router",
        "from toysafe.cli.common import app",
        "from toysafe.render.pdf import render",
        "from toysafe.usecases.certify import prepare",
        "from ...store import models",
        "from datetime import date\nx = date.today()",
        "import datetime\nx = datetime.datetime.now()",
        "from datetime import datetime\nx = datetime.now()",
        "x = open('f')",
        "def f(p):\n    return p.read_text()",
    ],
)
def test_the_checker_catches_each_kind_of_violation(source: str) -> None:
    assert violations(source, "toysafe.core.law.engine")


@pytest.mark.parametrize(
    "source",
    [
        "from toysafe.core.law.profile import Profile",
        "from ..evidence import labs",
        "from datetime import date, timedelta\nx = date(2026, 1, 1) + timedelta(days=1)",
        "import re\nimport hashlib",
        "from pydantic import BaseModel",
    ],
)
def test_the_checker_lets_pure_code_through(source: str) -> None:
    assert violations(source, "toysafe.core.law.engine") == []

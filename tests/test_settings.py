"""One settings module: every environment variable toysafe reads is a field of
``toysafe.settings.Settings`` (with a default and a meaning), documented in docs/settings.md,
and no other module reads the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from toysafe.settings import Settings, env_name, settings, workspace

SRC = Path(__file__).parent.parent / "src" / "toysafe"
DOCS = Path(__file__).parent.parent / "docs" / "settings.md"


def _environment_reads(path: Path) -> list[int]:
    """Lines reading os.environ / os.getenv (setting a variable for a child process is fine)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr == "getenv":
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (
                isinstance(owner, ast.Attribute)
                and owner.attr == "environ"
                and node.func.attr in {"get", "items", "keys", "values", "copy", "pop"}
            ):
                lines.append(node.lineno)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "environ"
            and isinstance(node.ctx, ast.Load)
        ):
            lines.append(node.lineno)
    return lines


def test_no_module_but_settings_reads_the_environment() -> None:
    readers = {
        str(p.relative_to(SRC)): lines
        for p in sorted(SRC.rglob("*.py"))
        if p.name != "settings.py" and (lines := _environment_reads(p))
    }
    assert readers == {}


def test_every_setting_has_a_default_a_meaning_and_a_line_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 20, name
        assert not field.is_required(), name
        assert f"`{env_name(name)}`" in text, name


def test_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TOYSAFE_HOME", raising=False)
    monkeypatch.setenv("TOYSAFE_DATABASE_URL", "")
    monkeypatch.chdir(tmp_path)
    assert settings().database_url is None  # empty means unset: SQLite in the workspace
    assert workspace() == tmp_path and workspace(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("TOYSAFE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TOYSAFE_SECURE_COOKIES", "0")
    assert workspace() == tmp_path / "home" and settings().secure_cookies is False


def test_the_database_module_resolves_the_workspace_through_settings() -> None:
    source = (SRC / "store" / "db.py").read_text(encoding="utf-8")
    assert "toysafe.io.keys" not in source and "toysafe.settings" in source


def test_passwords_get_the_recommended_argon2id_cost_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from toysafe.store.accounts import hash_password

    monkeypatch.delenv("TOYSAFE_PASSWORD_HASH_COST", raising=False)
    strong = hash_password("correct horse")
    assert strong.startswith("$argon2id$") and "m=65536,t=3,p=4" in strong
    monkeypatch.setenv("TOYSAFE_PASSWORD_HASH_COST", "minimum")
    cheap = hash_password("correct horse")
    assert "m=8,t=1,p=1" in cheap
    monkeypatch.delenv("TOYSAFE_PASSWORD_HASH_COST")
    from pwdlib import PasswordHash

    assert PasswordHash.recommended().verify("correct horse", cheap)  # the cost is in the hash

"""Load the knowledge base shipped in ``toysafe/kb`` (or any directory) from YAML files."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from toysafe import __version__
from toysafe.core.law.conditions import ConditionError
from toysafe.core.law.knowledge import (
    Determination,
    Duties,
    Duty,
    Editions,
    KnowledgeBase,
    KnowledgeBaseError,
    Parameters,
    Requirement,
)

KB_DIR = Path(__file__).parent.parent / "kb"

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_Loader):
    """Safe loader that rejects duplicate keys instead of silently keeping the last."""


def _construct_mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_UniqueKeyLoader)


def rules_version(digest: str, release: str = __version__) -> str:
    """The identifier of a knowledge base: the package release and a short content hash,
    e.g. ``0.1.0+kb.3f2a9c1d0b4e``. The same rules give the same string; any change to a
    rule file (or the release) gives another."""
    return f"{release}+kb.{digest[:12]}"


def _error(path: Path, root: Path, e: Exception) -> KnowledgeBaseError:
    rel = path.relative_to(root) if path.is_relative_to(root) else path
    if isinstance(e, ValidationError):
        lines = [
            f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
            for err in e.errors()
        ]
        return KnowledgeBaseError(f"{rel}: " + "; ".join(lines))
    return KnowledgeBaseError(f"{rel}: {e}")


def load_kb(root: Path = KB_DIR) -> KnowledgeBase:
    """Read, validate and cross-check every ``*.yaml`` file under ``root``."""
    requirements: list[Requirement] = []
    determinations: list[Determination] = []
    editions: Editions | None = None
    parameters: list[Parameters] = []
    duties: list[Duty] = []
    content = hashlib.sha256()
    for path in sorted(root.rglob("*.yaml")):
        try:
            raw = path.read_bytes()
            # Each file's path (relative, POSIX) and bytes: a rename or an edit changes it.
            content.update(path.relative_to(root).as_posix().encode() + b"\0")
            content.update(hashlib.sha256(raw).digest())
            data = yaml.load(raw.decode("utf-8"), Loader=_UniqueKeyLoader)
            if not isinstance(data, dict) or "kind" not in data:
                raise KnowledgeBaseError("expected a mapping with a 'kind'")
            kind = data["kind"]
            if kind == "requirement":
                requirements.append(Requirement.model_validate(data))
            elif kind == "determination":
                determinations.append(Determination.model_validate(data))
            elif kind == "parameters":
                parameters.append(Parameters.model_validate(data))
            elif kind == "duties":
                duties.extend(Duties.model_validate(data).duties)
            elif kind == "editions":
                if editions is not None:
                    raise KnowledgeBaseError("a second editions file")
                editions = Editions.model_validate(data)
            else:
                raise KnowledgeBaseError(f"unknown kind '{kind}'")
        except (
            ValidationError,
            ConditionError,
            KnowledgeBaseError,
            yaml.YAMLError,
            UnicodeDecodeError,
        ) as e:
            raise _error(path, root, e) from None
    if editions is None:
        raise KnowledgeBaseError(f"{root}: no editions file")
    return KnowledgeBase(
        requirements,
        determinations,
        editions,
        parameters,
        duties,
        rules_version(content.hexdigest()),
    )


@functools.cache
def default_kb() -> KnowledgeBase:
    """The knowledge base shipped with the package, loaded once per process."""
    return load_kb(KB_DIR)

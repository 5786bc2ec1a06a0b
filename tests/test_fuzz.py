"""A short run of the fuzzer (bench/fuzz.py): malformed input of every format is never a crash."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_500_fuzzed_inputs_of_every_format_cause_no_crash() -> None:
    spec = importlib.util.spec_from_file_location("toysafe_fuzz", ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    result = fuzz.run(500, seed=14)
    assert result["inputs"] == 500 and min(result["by_format"].values()) >= 50
    assert result["crashes"] == 0, result["examples"]

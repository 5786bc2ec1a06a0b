"""Deterministic generators of realistic product profiles for the benchmarks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from toysafe.core.law.vocabulary import FEATURES, MATERIALS

_FEATURES = sorted(FEATURES)
_MATERIALS = sorted(MATERIALS)
_AGES = [0, 6, 12, 18, 24, 36, 48, 60, 72, 96, 120, 144, 156, 168]


def profile(rng: random.Random, i: int, n_components: int | None = None) -> dict[str, Any]:
    """One plausible profile: a few features, a few components, a recent manufacture month."""
    features: list[Any] = []
    for name in rng.sample(_FEATURES, rng.randint(0, 4)):
        if name == "sound":
            features.append({"sound": {"kind": rng.choice(["hand_held", "close_to_ear"])}})
        elif name == "battery":
            features.append({"battery": {"cell": rng.choice(["button", "cylindrical"])}})
        else:
            features.append(name)
    count = n_components if n_components is not None else rng.randint(1, 6)
    components = [
        {
            "id": f"c{j}",
            "material": rng.choice(_MATERIALS),
            "accessible": rng.random() > 0.2,
            "small_part": rng.random() < 0.15,
        }
        for j in range(count)
    ]
    return {
        "sku": f"GEN-{i:06d}",
        "name": f"Generated toy {i}",
        "age": {"min_months": rng.choice(_AGES)},
        "manufactured": f"{rng.randint(2016, 2026)}-{rng.randint(1, 12):02d}",
        "made_in": {"city": "Ningbo", "country": "CN"},
        "features": features,
        "components": components,
    }


def profiles(n: int, seed: int = 20261122) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        yield profile(rng, i)

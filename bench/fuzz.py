"""Fuzzing every input format and command: malformed files must be exit 2, never a crash.

A seeded mutator starts from the example files (profiles as YAML and JSON, lab reports as JSON
and CSV, the lab registry, the party file, a marketplace listing report and a signed
certificate) and damages them at three levels: bytes (flips, cuts, splices, encodings), tokens
(NUL, surrogates, BOMs, huge numbers, NaN, impossible dates, alias bombs, deep nesting, extra CSV
cells, non-ASCII digits) and structure (a parsed field replaced by a value of another type or
size, then written back as YAML or JSON). Each input goes through the real reader and what comes
after it in process (assessment, verification, certificate checking); about one in ten goes
through the command line (``assess``, ``verify``, ``certify``, ``certificate verify``). A crash
is any exception other than the project's InputError (exit 2), or an exit status other than 0,
1 or 2.

    python bench/fuzz.py [--json] [--inputs 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
AS_OF = date(2026, 11, 21)
SLOW_S = 2.0

TOKENS: list[bytes] = [
    b"\x00",
    b"\\u0000",
    b"\\ud800",
    b'"\\udfff"',
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xe9",
    b"\xed\xa0\x80",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b".inf",
    b".nan",
    b"1e999",
    b"9" * 5000,
    b"-0",
    b"2026-02-30",
    b"2026-13-01",
    b"0000-00-00",
    b"\xd9\xa3\xd9\xa4",  # Arabic-Indic 34
    b"1/0",
    b"mg/kg/0",
    b"**",
    b"[" * 1000,
    b"{" * 500,
    b"- " * 300,
    b"&a [*a]",
    b"*a",
    b"&x",
    b"!!python/object:os.system",
    b"!!binary aGk=",
    b"!!set {a}",
    b"? [a, b]\n: c",
    b"<<: *a",
    b",,,,,,,,,,",
    b'"',
    b"\n",
    b"\r",
    b"\t",
    b"'",
    b"x" * 300,
    b"\xe2\x80\xae",
    b"%",
    b"ND",
    b"<10",
    b"<",
    b"null",
    b"~",
    b"true",
    b"-1",
    b"1.5",
    b"0x1F",
    b"1:20:30",
    b"---\n",
    b"...\n",
]
VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    10**400,
    1.5,
    float("nan"),
    float("inf"),
    "",
    " ",
    "x" * 5000,
    "\x00",
    "\ud800",
    "2026-02-30",
    "٣٤",
    "1/0",
    [],
    {},
    [[[]]],
    {"a": {"b": {"c": None}}},
    "ND",
    "<0.5",
    "pass",
    "F963-23",
    "16CFR1303",
]


def seeds(tmp: Path) -> dict[str, list[tuple[str, bytes]]]:
    """Example files per format: (file name, bytes)."""
    profiles = sorted((EX / "products").glob("*.yaml"))
    out: dict[str, list[tuple[str, bytes]]] = {
        "profile_yaml": [(p.name, p.read_bytes()) for p in profiles],
        "profile_json": [
            (
                p.with_suffix(".json").name,
                json.dumps(yaml.safe_load(p.read_text()), default=str).encode(),
            )
            for p in profiles
        ],
        "report_json": [(p.name, p.read_bytes()) for p in sorted((EX / "reports").glob("*.json"))],
        "report_csv": [(p.name, p.read_bytes()) for p in sorted((EX / "reports").glob("*.csv"))],
        "labs_csv": [("labs.csv", (EX / "labs.csv").read_bytes())],
        "party_yaml": [("party.yaml", (EX / "party.yaml").read_bytes())],
        "listings": [(p.name, p.read_bytes()) for p in sorted((EX / "listings").iterdir())],
        "certificate_json": [("cert.cpc.json", certificate(tmp))],
    }
    return out


def certificate(tmp: Path) -> bytes:
    """A signed certificate document, made with a throwaway workspace key."""
    from toysafe.core.certificates import seal
    from toysafe.io.keys import load_or_create

    key, _ = load_or_create(tmp)
    doc = {
        "format": "toysafe/certificate@1",
        "certificate": {"id": "FUZZ-1", "type": "CPC", "certifier": {"name": "Fuzz LLC"}},
    }
    return json.dumps(seal.sign(doc, key.key), indent=2).encode()


# -- mutation -------------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        op = rng.randrange(9)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[pos:pos] = rng.choice(TOKENS)
        elif op == 2 and b:
            del b[pos : pos + rng.randrange(1, 40)]
        elif op == 3 and b:
            chunk = b[pos : pos + rng.randrange(1, 200)]
            at = rng.randrange(len(b) + 1)
            b[at:at] = chunk * rng.choice((1, 2, 50))
        elif op == 4:
            b = b[:pos]
        elif op == 5 and b:
            end = min(len(b), pos + rng.randrange(1, 20))
            b[pos:end] = rng.choice(TOKENS)
        elif op == 6:
            b[pos:pos] = bytes(rng.randrange(32, 127) for _ in range(rng.randrange(1, 10)))
        elif op == 7:  # a line of extra cells, or an extra column, in CSV-like text
            b[pos:pos] = b"," * rng.randrange(1, 30)
        else:
            b[pos:pos] = b"\n"
    return bytes(b)


def mutate_encoding(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("utf-8", "replace")
    enc = rng.choice(("utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"))
    return text.encode(enc, "replace") + (b"\xe9" if enc in ("latin-1", "cp1252") else b"")


def _leaves(data: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        out.append(path)
        if len(path) > 20:
            continue
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
    return out


def mutate_structure(rng: random.Random, data: bytes, as_json: bool) -> bytes:
    try:
        tree = json.loads(data) if as_json else yaml.safe_load(data)
    except Exception:  # noqa: BLE001 - seeds are valid; a CSV seed is not a tree
        return mutate_bytes(rng, data)
    tree = copy.deepcopy(tree)
    for _ in range(rng.choice((1, 1, 2, 4))):
        paths = [p for p in _leaves(tree) if p]
        if not paths:
            break
        path = rng.choice(paths)
        parent = tree
        for part in path[:-1]:
            parent = parent[part]
        op = rng.randrange(4)
        if op == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == 1 and isinstance(parent, dict):
            parent[rng.choice(("x", "format", "sku", "unit", "value", "extra"))] = rng.choice(
                VALUES
            )
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
    try:
        if as_json or rng.random() < 0.3:
            return json.dumps(tree, default=str, allow_nan=True).encode("utf-8", "surrogatepass")
        return yaml.safe_dump(tree, allow_unicode=True).encode("utf-8", "surrogatepass")
    except Exception:  # noqa: BLE001 - an unrepresentable tree: fall back to bytes
        return mutate_bytes(rng, data)


def mutate(rng: random.Random, name: str, data: bytes) -> bytes:
    r = rng.random()
    if r < 0.08:
        return mutate_encoding(rng, data)
    if r < 0.45 and not name.endswith((".csv", ".txt")):
        return mutate_structure(rng, data, name.endswith(".json"))
    return mutate_bytes(rng, data)


# -- targets --------------------------------------------------------------------------------


class Targets:
    """Each format's reader and what follows it, in process; and the command line."""

    def __init__(self, tmp: Path) -> None:
        from toysafe.io.kb import default_kb
        from toysafe.io.keys import load_or_create
        from toysafe.io.labs import read_labs
        from toysafe.io.profiles import read_profile

        self.tmp = tmp
        self.kb = default_kb()
        self.profile = read_profile(EX / "products" / "painted-wooden-stacker.yaml")
        self.registry = read_labs(EX / "labs.csv")
        self.drone = read_profile(EX / "products" / "rc-drone.yaml")
        self.key = load_or_create(tmp)[0]

    def run(self, fmt: str, path: Path) -> None:
        from toysafe.core.evidence.verify import report_problems, verify
        from toysafe.core.law.engine import assess

        if fmt.startswith("profile"):
            from toysafe.io.profiles import read_profile

            prof = read_profile(path)
            assess(prof, self.kb, AS_OF)
        elif fmt.startswith("report"):
            from toysafe.io.reports import read_reports

            found = read_reports([path])
            if report_problems(found, self.kb, AS_OF):
                return  # the command line stops here with exit 2
            verify(
                self.profile,
                assess(self.profile, self.kb, AS_OF),
                [r for _, r in found],
                self.kb,
                AS_OF,
                self.registry,
            )
        elif fmt == "labs_csv":
            from toysafe.io.labs import read_labs

            registry = read_labs(path)
            registry.acceptance("1234", "16CFR1303", AS_OF)
        elif fmt == "party_yaml":
            from toysafe.render.certificate_pdf import certificate_html
            from toysafe.usecases.certify import prepare, read_party

            issued = prepare(self.drone, [], self.registry, read_party(path), self.key, AS_OF)
            if issued.document is not None:
                certificate_html(issued.document)
        elif fmt == "listings":
            from toysafe.io.listings import read_listings_file

            read_listings_file(path)
        elif fmt == "certificate_json":
            from toysafe.usecases.certificate_check import check_file

            check_file(path, None, self.tmp)
        else:
            raise ValueError(fmt)

    def cli(self, fmt: str, path: Path) -> list[str] | None:
        stacker = str(EX / "products" / "painted-wooden-stacker.yaml")
        labs = str(EX / "labs.csv")
        if fmt.startswith("profile"):
            return ["assess", str(path), "--format", "json"]
        if fmt.startswith("report"):
            return ["verify", stacker, "--reports", str(path), "--labs", labs]
        if fmt == "labs_csv":
            return [
                "verify",
                stacker,
                "--reports",
                str(EX / "reports" / "stacker-chemistry-pass.json"),
                "--labs",
                str(path),
            ]
        if fmt == "certificate_json":
            return ["certificate", "verify", str(path), "--workspace", str(self.tmp)]
        return None


def run(
    inputs: int,
    seed: int,
    cli_share: float = 0.1,
    checkpoint: Path | None = None,
    crash_dir: Path | None = None,
) -> dict[str, Any]:
    from typer.testing import CliRunner

    from toysafe.cli.app import app
    from toysafe.io.errors import InputError

    rng = random.Random(seed)
    runner = CliRunner()
    crashes: Counter[str] = Counter()
    by_format: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    slow = 0
    slowest = 0.0
    cli_runs = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="toysafe-fuzz-") as tmp_dir:
        tmp = Path(tmp_dir)
        os.environ.pop("TOYSAFE_SIGNING_KEY", None)
        corpus = seeds(tmp)
        targets = Targets(tmp)
        formats = sorted(corpus)
        for i in range(inputs):
            fmt = formats[i % len(formats)]
            name, data = rng.choice(corpus[fmt])
            fuzzed = mutate(rng, name, data)
            path = tmp / f"in-{i % 7}-{name}"
            path.write_bytes(fuzzed)
            by_format[fmt] += 1
            t0 = time.perf_counter()
            problem: str | None = None
            args = targets.cli(fmt, path) if rng.random() < cli_share else None
            if args is not None:
                cli_runs += 1
                result = runner.invoke(app, args)
                exc = result.exception
                if exc is not None and not isinstance(exc, SystemExit):
                    problem = "".join(traceback.format_exception(exc)[-3:])
                elif result.exit_code not in (0, 1, 2):
                    problem = f"exit status {result.exit_code}"
            else:
                try:
                    targets.run(fmt, path)
                except InputError:
                    pass
                except Exception as e:  # noqa: BLE001 - what the fuzzer looks for
                    problem = "".join(traceback.format_exception(e)[-3:])
            elapsed = time.perf_counter() - t0
            slowest = max(slowest, elapsed)
            if elapsed > SLOW_S:
                slow += 1
            if problem is not None:
                key = f"{fmt}: {problem.strip().splitlines()[-1][:160]}"
                crashes[key] += 1
                if len(examples) < 20 and crashes[key] == 1:
                    examples.append(
                        {
                            "index": i,
                            "format": fmt,
                            "input": fuzzed[:300].decode("latin-1"),
                            "error": problem[-600:],
                        }
                    )
                    if crash_dir is not None:  # the whole input, to replay the crash
                        crash_dir.mkdir(parents=True, exist_ok=True)
                        (crash_dir / f"{seed}-{i}-{name}").write_bytes(fuzzed)
            if checkpoint is not None and (i + 1) % 500 == 0:
                done = {"inputs_done": i + 1, "crashes": sum(crashes.values()), "slow": slow}
                checkpoint.write_text(
                    json.dumps(done | {"crash_kinds": dict(crashes), "examples": examples})
                )
    return {
        "inputs": inputs,
        "crashes": sum(crashes.values()),
        "distinct_crashes": len(crashes),
        "slow": slow,
        "slowest_s": round(slowest, 3),
        "cli_runs": cli_runs,
        "seconds": round(time.perf_counter() - started, 1),
        "seed": seed,
        "by_format": dict(by_format),
        "crash_kinds": dict(crashes.most_common(20)),
        "examples": examples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--checkpoint", type=Path, help="Write progress here every 500 inputs.")
    parser.add_argument(
        "--crash-dir", type=Path, help="Keep the whole input of each distinct crash here."
    )
    args = parser.parse_args(argv)
    result = run(args.inputs, args.seed, checkpoint=args.checkpoint, crash_dir=args.crash_dir)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['inputs']} inputs, {result['crashes']} crashes, {result['slow']} slow "
            f"(> {SLOW_S} s), {result['seconds']} s"
        )
        for kind, n in result["crash_kinds"].items():
            print(f"  {n:5d}  {kind}")
    return 0 if result["crashes"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

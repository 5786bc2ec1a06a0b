"""Benchmark of certificate issue: PDF rendering and signing per certificate, and a batch run.

``pdf_ms``: median time to render and sign one certificate PDF (HTML, WeasyPrint, PAdES).
``batch_100_s``: `toysafe certify` over a folder of 100 products in one process (progress bar).

    python bench/certify.py [--json] [--repeats N] [--batch N]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

from toysafe.io.keys import load_or_create
from toysafe.io.labs import read_labs
from toysafe.io.profiles import read_profile
from toysafe.io.reports import read_reports
from toysafe.render.certificate_pdf import render_certificate
from toysafe.usecases.certify import prepare, read_party

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
AS_OF = date(2026, 11, 21)
TARGET_MS = 300.0
REPORTS = [
    EX / "reports" / "stacker-chemistry-pass.json",
    EX / "reports" / "stacker-mechanical-pass.csv",
]


def pdf_ms(repeats: int, ws: Path) -> float:
    key, _ = load_or_create(ws)
    issued = prepare(
        read_profile(EX / "products" / "painted-wooden-stacker.yaml"),
        [r for _, r in read_reports(REPORTS)],
        read_labs(EX / "labs.csv"),
        read_party(EX / "party.yaml"),
        key,
        AS_OF,
    )
    assert issued.document is not None, issued.refused
    render_certificate(issued.document, key)  # warm caches (fonts, templates)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        render_certificate(issued.document, key)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def batch(n: int, ws: Path) -> float:
    """Certify n colourways of the stacker, all named in the same two reports."""
    products, reports, out = ws / "products", ws / "reports", ws / "out"
    for d in (products, reports):
        d.mkdir(parents=True)
    base = yaml.safe_load((EX / "products" / "painted-wooden-stacker.yaml").read_text())
    skus = [f"MM-STK-{i:03d}" for i in range(n)]
    for sku in skus:
        p = copy.deepcopy(base)
        p.update({"sku": sku, "model": sku, "gtin": None})
        (products / f"{sku}.yaml").write_text(yaml.safe_dump(p), encoding="utf-8")
    chem = json.loads(REPORTS[0].read_text())
    chem["products"] = [{"sku": s} for s in skus]
    (reports / "chem.json").write_text(json.dumps(chem), encoding="utf-8")
    mech = (
        REPORTS[1]
        .read_text()
        .replace("sku=MM-STK-07,model=MM-STK-07", ";".join(f"sku={s}" for s in skus))
    )
    (reports / "mech.csv").write_text(mech, encoding="utf-8")
    exe = Path(sys.executable).with_name("toysafe")
    t = time.perf_counter()
    subprocess.run(
        [
            str(exe),
            "certify",
            str(products),
            "--reports",
            str(reports),
            "--labs",
            str(EX / "labs.csv"),
            "--party",
            str(EX / "party.yaml"),
            "--as-of",
            AS_OF.isoformat(),
            "--out",
            str(out),
            "--workspace",
            str(ws),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - t
    assert len(list(out.glob("*.cpc.pdf"))) == n
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100, help="products in the batch (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        median = pdf_ms(args.repeats, ws)
        batch_s = batch(args.batch, ws) if args.batch else None
    figures = {
        "pdf_ms": round(median, 1),
        "batch_n": args.batch,
        "batch_s": round(batch_s, 2) if batch_s is not None else None,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"pdf_ms {median:.1f} (target {TARGET_MS:.0f}, ratio {median / TARGET_MS:.2f})")
    if batch_s is not None:
        print(
            f"batch: {args.batch} certificates in {batch_s:.1f} s "
            f"({batch_s / args.batch * 1000:.0f} ms each, including verification)"
        )


if __name__ == "__main__":
    main()

"""The demo marketplace for `make run`: a policy, three sellers and their listings, complaints,
and requests in every state (open, revision_requested, in_review, approved, rejected,
not_applicable; overdue and suppressed too), all through the real `toysafe program` commands.

Run with TOYSAFE_HOME set to a workspace that `make run` has initialized. It runs once: when
the workspace already has program requests it changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EX = HERE.parent
TOYSAFE = str(Path(sys.executable).with_name("toysafe"))
PASSWORD = os.environ.get("DEMO_PASSWORD", "toysafe-demo")
STACKER = EX / "products" / "painted-wooden-stacker.yaml"
REPORTS = [
    EX / "reports" / "stacker-chemistry-pass.json",
    EX / "reports" / "stacker-mechanical-pass.csv",
]


def ts(*args: object, ok: tuple[int, ...] = (0,), stdin: str | None = None) -> str:
    done = subprocess.run(
        [TOYSAFE, *map(str, args)], capture_output=True, text=True, input=stdin, check=False
    )
    if done.returncode not in ok:
        sys.exit(f"toysafe {' '.join(map(str, args))}: exit {done.returncode}\n{done.stderr}")
    return done.stdout


def request_of(listing: str) -> str:
    docs = json.loads(ts("program", "requests", "--listing", listing, "--format", "json"))
    return str(docs[-1]["id"])


def main() -> None:
    home = Path(os.environ.get("TOYSAFE_HOME") or ".")
    if json.loads(ts("program", "requests", "--format", "json", ok=(0, 2)) or "[]"):
        print("program demo: already there")
        return
    ts("program", "policy", "load", HERE / "policy.yaml", "--as-of", "2026-11-01")
    ts("program", "listings", "import", HERE / "listings.csv", "--as-of", "2026-11-01")
    for email, org in (
        ("hoppy@demo.example", "hoppy"),
        ("rival@demo.example", "rival"),
        ("market@demo.example", "demo-market"),
    ):
        role = "reviewer" if org == "demo-market" else "seller"
        ts(
            "users",
            "add",
            email,
            "--org",
            org,
            "--role",
            role,
            "--password-stdin",
            "--exists-ok",
            stdin=PASSWORD + "\n",
        )
    for seller in ("default", "hoppy", "rival"):
        ts("enroll", seller, "--reviewer", "demo-market")
        ts("enroll", seller, "--reviewer", "marketplace")
    out = home / "program"
    ts(
        "certify",
        STACKER,
        "--reports",
        *REPORTS,
        "--labs",
        EX / "labs.csv",
        "--party",
        EX / "party.yaml",
        "--as-of",
        "2026-11-02",
        "--out",
        out,
    )
    cert = out / "MM-STK-07.cpc.json"
    altered = json.loads(cert.read_text())
    altered["certificate"]["toy_standard"] = "F963-17"  # changed after signing
    forged = out / "altered.cpc.json"
    forged.write_text(json.dumps(altered, indent=2))

    ts("program", "sweep", "--as-of", "2026-11-02")  # new_listing requests for what is listed

    def submit(listing: str, certificate: Path, day: str, *reports: Path) -> None:
        ts(
            "program",
            "submit",
            request_of(listing),
            "--profile",
            STACKER,
            "--certificate",
            certificate,
            "--reports",
            *(reports or REPORTS),
            "--as-of",
            day,
            ok=(0, 1),
        )

    submit("B0CW00DST7", cert, "2026-11-03")  # approved at once
    submit("B0DK4PLU5H", cert, "2026-11-03")  # the wrong product's papers: revision_requested
    submit("B0HPBLK002", forged, "2026-11-04")  # altered certificate: in_review
    submit("B0RVTOP004", forged, "2026-11-04")  # altered certificate: a reviewer rejects it
    ts(
        "program",
        "decide",
        request_of("B0RVTOP004"),
        "--decision",
        "reject",
        "--reason",
        "forged_or_altered",
        "--as-of",
        "2026-11-05",
    )
    appeal = json.loads(
        ts(
            "program",
            "appeal",
            request_of("B0HPART005"),
            "--claim",
            "not_applicable",
            "--root-cause",
            "wall art is decor, not a toy",
            "--fix",
            "listing moved to home decor",
            "--prevention",
            "category checked before listing",
            "--as-of",
            "2026-11-06",
            "--format",
            "json",
        )
    )
    ts(
        "program",
        "decide-appeal",
        appeal["id"],
        "--overturn",
        "--reason",
        "not a toy: nursery decor",
        "--as-of",
        "2026-11-07",
    )
    ts("program", "complaints", "import", HERE / "complaints.csv", "--as-of", "2026-11-16")
    # past due: open requests suppressed (ladder), the new rattle gets its request, complaints
    # join the tiles' request
    ts("program", "sweep", "--as-of", "2026-11-17")
    ts("program", "requests", "--as-of", "2026-11-17")
    print(
        "program demo: marketplace demo-market (reviewer market@demo.example), sellers "
        "default, hoppy, rival"
    )


if __name__ == "__main__":
    main()

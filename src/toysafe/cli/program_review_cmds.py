"""``toysafe program`` casework: submit (P7 pre-check), decide (P8, P9), appeal and
decide-appeal (P11), keys add. Exit 0 success, 1 a refusal the output explains (a submission
sent back for revision is one), 2 bad input naming the field."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from toysafe.cli.common import EXIT_NOT_OK, EXIT_OK, fail, parse_as_of
from toysafe.cli.program_cmds import program_app

program = program_app
keys = typer.Typer(help="Certificate-signing keys sellers register with the marketplace.")
program.add_typer(keys, name="keys")

Workspace = Annotated[
    Path | None, typer.Option("--workspace", help="Workspace folder (default: TOYSAFE_HOME or .)")
]
AsOf = Annotated[str | None, typer.Option("--as-of", help="As of DATE (YYYY-MM-DD).")]


class Fmt(StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[Fmt, typer.Option("--format")]


def _casework(workspace: Path | None) -> Any:
    from toysafe.io.errors import InputError
    from toysafe.io.keys import workspace as resolve
    from toysafe.store.db import open_store
    from toysafe.store.program.casework import Casework
    from toysafe.store.workspace import actor

    try:
        return Casework(open_store(workspace), resolve(workspace), actor())
    except InputError as e:
        fail(str(e))


def _run(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Call into the casework: bad input exits 2, a refusal exits 1 with its reason."""
    from toysafe.core.program.decisions import Refusal
    from toysafe.io.errors import InputError

    try:
        return call(*args, **kwargs)
    except Refusal as e:
        _refused(e.code, e.message)
    except InputError as e:
        fail(str(e))


def _refused(code: str, message: str) -> NoReturn:
    typer.echo(json.dumps({"refused": code, "message": message}, indent=2), err=False)
    typer.echo(f"refused: {message}", err=True)
    raise typer.Exit(EXIT_NOT_OK)


def _emit(doc: dict[str, Any], fmt: Fmt, lines: list[str]) -> None:
    if fmt is Fmt.json:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
    else:
        for line in lines:
            typer.echo(line)


@program.command()
def submit(
    request: Annotated[str, typer.Argument(help="Request id (REQ-000001).")],
    more: Annotated[list[Path] | None, typer.Argument(hidden=True)] = None,
    profile: Annotated[Path | None, typer.Option("--profile", help="Product profile.")] = None,
    certificate: Annotated[
        Path | None, typer.Option("--certificate", help="Signed certificate (CPC.json).")
    ] = None,
    reports: Annotated[
        list[Path] | None,
        typer.Option("--reports", help="Lab reports (JSON or CSV); list several after one flag."),
    ] = None,
    as_of: AsOf = None,
    fmt: FormatOpt = Fmt.table,
    workspace: Workspace = None,
) -> None:
    """Submit proof for a request: the pre-check (P7) answers at once."""
    from toysafe.io.errors import InputError
    from toysafe.io.profiles import read_profile
    from toysafe.io.reports import read_reports

    when = parse_as_of(as_of)
    paths = list(reports or []) + list(more or [])
    if profile is None:
        fail("--profile: give the product profile")
    if certificate is None:
        fail("--certificate: give the signed certificate (toysafe/certificate@1 JSON)")
    if not paths:
        fail("--reports: give at least one lab report")
    try:
        prof = read_profile(profile)
        cert = _certificate(certificate)
        found = read_reports(paths)
    except InputError as e:
        fail(str(e))
    out = _run(_casework(workspace).submit, request, prof, cert, found, when)
    lines = [f"{out['request']}: {out['state']}"]
    for f in out["pre_check"]["findings"]:
        lines.append(f"  [{f['code']}] {f['message']}")
        lines.append(f"      next: {f['next_step']}")
    _emit(out, fmt, lines)
    raise typer.Exit(EXIT_NOT_OK if out["state"] == "revision_requested" else EXIT_OK)


def _certificate(path: Path) -> dict[str, Any]:
    """The certificate as sent: its signature is the pre-check's to judge (an altered one is a
    finding, forged_or_altered, not bad input)."""
    from toysafe.io.errors import InputError

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"--certificate: {path}: not a readable certificate JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != "toysafe/certificate@1":
        raise InputError(f"--certificate: {path}: not a toysafe/certificate@1 document")
    return doc


class DecisionOpt(StrEnum):
    approve = "approve"
    revise = "revise"
    reject = "reject"


@program.command()
def decide(
    request: Annotated[str, typer.Argument(help="Request id (REQ-000001).")],
    decision: Annotated[DecisionOpt, typer.Option("--decision", help="approve, revise or reject.")],
    reason: Annotated[str, typer.Option("--reason", help="Reason code (P8).")],
    as_of: AsOf = None,
    fmt: FormatOpt = Fmt.table,
    workspace: Workspace = None,
) -> None:
    """A reviewer's decision on a request (P8, P9)."""
    when = parse_as_of(as_of)
    out = _run(_casework(workspace).decide, request, decision.value, reason, when)
    lines = [f"{out['request']}: {out['state']} ({out['decision']}, {out['reason']})"]
    if out.get("action"):
        lines.append(f"  listing {out['action']['listing_id']}: {out['action']['action']}")
    lines.append(f"  next: {out['reasons']['next_step']}")
    _emit(out, fmt, lines)
    raise typer.Exit(EXIT_OK)


class ClaimOpt(StrEnum):
    not_applicable = "not_applicable"
    decision_wrong = "decision_wrong"


@program.command()
def appeal(
    request: Annotated[str, typer.Argument(help="Request id (REQ-000001).")],
    claim: Annotated[ClaimOpt, typer.Option("--claim", help="not_applicable or decision_wrong.")],
    root_cause: Annotated[str, typer.Option("--root-cause", help="What caused it.")],
    fix: Annotated[str, typer.Option("--fix", help="What was done about it.")],
    prevention: Annotated[str, typer.Option("--prevention", help="How it will not recur.")],
    evidence: Annotated[
        list[Path] | None, typer.Option("--evidence", help="Evidence files (repeat the flag).")
    ] = None,
    as_of: AsOf = None,
    fmt: FormatOpt = Fmt.table,
    workspace: Workspace = None,
) -> None:
    """Appeal a request's decision or action (P11); prints the appeal (toysafe/appeal@1)."""
    from toysafe.store.program.casework import EvidenceFile

    when = parse_as_of(as_of)
    files = []
    for path in evidence or []:
        try:
            files.append(EvidenceFile(path.name, path.read_bytes()))
        except OSError as e:
            fail(f"--evidence: {path}: cannot read: {e.strerror}")
    out = _run(
        _casework(workspace).appeal,
        request,
        claim.value,
        root_cause,
        fix,
        prevention,
        files,
        when,
    )
    _emit(out, fmt, [f"{out['id']}: appeal of {out['request']} ({out['claim']}) {out['state']}"])
    raise typer.Exit(EXIT_OK)


@program.command("decide-appeal")
def decide_appeal(
    appeal_id: Annotated[str, typer.Argument(metavar="APPEAL", help="Appeal id (APL-000001).")],
    uphold: Annotated[bool, typer.Option("--uphold", help="Keep the decision.")] = False,
    overturn: Annotated[bool, typer.Option("--overturn", help="Reverse it.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    as_of: AsOf = None,
    fmt: FormatOpt = Fmt.table,
    workspace: Workspace = None,
) -> None:
    """Decide an appeal: uphold or overturn (P11)."""
    if uphold == overturn:
        fail("--uphold/--overturn: give exactly one")
    if not reason.strip():
        fail("--reason: say why")
    when = parse_as_of(as_of)
    out = _run(_casework(workspace).decide_appeal, appeal_id, overturn, reason, when)
    _emit(out, fmt, [f"{out['id']}: {out['state']}; request {out['request']}"])
    raise typer.Exit(EXIT_OK)


@keys.command("add")
def keys_add(
    seller: Annotated[str, typer.Argument(help="Seller organization slug.")],
    public_key: Annotated[str, typer.Argument(help="ed25519:BASE64, or a PEM public key file.")],
    as_of: AsOf = None,
    fmt: FormatOpt = Fmt.table,
    workspace: Workspace = None,
) -> None:
    """Trust a certificate-signing key for a seller (its certificates' signatures count)."""
    when = parse_as_of(as_of)
    out = _run(_casework(workspace).add_key, seller, public_key, when)
    verb = "added" if out["added"] else "already registered"
    _emit(out, fmt, [f"key {out['key_id']} {verb} for {out['seller']}"])
    raise typer.Exit(EXIT_OK)

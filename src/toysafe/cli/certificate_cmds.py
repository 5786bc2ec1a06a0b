"""Commands that issue and check certificates: certify, certificate verify, efile, labels,
audit-pack."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import EXIT_NOT_OK, EXIT_OK, app, fail, parse_as_of, signing_key


class CertifyFormat(StrEnum):
    text = "text"
    json = "json"


def _profiles_in(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(x for x in path.iterdir() if x.suffix in (".yaml", ".yml", ".json"))
    return [path]


def _reports_in(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.suffix in (".json", ".csv")))
        else:
            out.append(p)
    return out


@app.command()
def certify(
    profile: Annotated[
        Path | None,
        typer.Argument(
            help="Product profile file or folder of profiles (or, kept for old "
            "scripts, a SKU in the workspace: prefer --sku)."
        ),
    ] = None,
    more: Annotated[list[Path] | None, typer.Argument(hidden=True)] = None,
    reports: Annotated[
        list[Path] | None,
        typer.Option("--reports", help="Lab reports or folders of them; several after one flag."),
    ] = None,
    labs: Annotated[Path | None, typer.Option("--labs", help="Lab registry CSV.")] = None,
    party: Annotated[
        Path | None, typer.Option("--party", help="Party file (toysafe/party@1).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the certificates.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Issue date (YYYY-MM-DD).")] = None,
    version: Annotated[int, typer.Option("--version", min=1, help="Certificate version.")] = 1,
    lot: Annotated[str | None, typer.Option("--lot", help="Lot or batch number.")] = None,
    workspace: Annotated[Path | None, typer.Option("--workspace", help="Workspace (keys).")] = None,
    org: Annotated[str, typer.Option("--org", help="Organization in the workspace.")] = "default",
    every: Annotated[
        bool, typer.Option("--all", help="Certify every stored product ready for it.")
    ] = False,
    sku: Annotated[
        list[str] | None,
        typer.Option("--sku", help="Certify this stored product from the workspace (repeatable)."),
    ] = None,
) -> None:
    """Issue the CPC (or GCC) as a signed PDF and JSON, only when verification passes.

    Two forms: `certify PROFILE --reports R... --labs LABS.csv --party PARTY.yaml --out DIR`
    certifies profile files; `certify --sku SKU` (or `--all`) certifies stored products from
    the workspace's profiles, reports and labs.
    """
    from toysafe.cli.stored_certify import certify_stored

    if sku or every:
        if profile is not None:
            fail(f"{profile}: give either a PROFILE or --sku/--all, not both")
        certify_stored(list(sku or []), party, out, as_of, lot, workspace, org, every)
        return
    if profile is None:
        fail("give a PROFILE (file or folder), --sku SKU from the workspace, or --all")
    if not profile.exists():
        _missing_profile(profile, bool(reports or labs or more), workspace)
        # Kept for scripts written before --sku: a bare SKU, when the workspace has one.
        certify_stored([str(profile)], party, out, as_of, lot, workspace, org, False)
        return
    from toysafe.core.evidence.verify import report_problems
    from toysafe.io.kb import default_kb
    from toysafe.io.labs import read_labs
    from toysafe.io.profiles import InputError, read_profile
    from toysafe.io.reports import read_reports
    from toysafe.usecases.certify import prepare, read_party, write_certificate

    when = parse_as_of(as_of)
    if party is None:
        fail("--party: the party file (certifier, records custodian) is required")
    if out is None:
        fail("--out: give the folder to write the certificate to")
    if labs is None:
        fail("--labs: the lab registry is required to certify (lab names, addresses, phones)")
    paths = _reports_in(list(reports or []) + list(more or []))
    try:
        profiles = [read_profile(p) for p in _profiles_in(profile)]
        found = read_reports(paths) if paths else []
        registry = read_labs(labs)
        parties = read_party(party)
    except InputError as e:
        fail(str(e))
    if not profiles:
        fail(f"{profile}: no profiles found")
    problems = report_problems(found, default_kb(), when)
    if problems:
        fail("\n".join(str(p) for p in problems))
    key = signing_key(workspace)
    lab_reports = [r for _, r in found]
    refused = 0

    def one(p) -> None:
        nonlocal refused
        issued = prepare(p, lab_reports, registry, parties, key, when, version, lot)
        if issued.refused or issued.document is None:
            refused += 1
            lines = [f"{p.sku}: not certified: {issued.refused}"]
            for check in issued.verification.requirements:
                if check.status != "pass":
                    lines += [f"  {check.id} {check.status}: {f}" for f in check.findings[:3]]
            typer.echo("\n".join(lines), err=True)
            return
        pdf_path, json_path = write_certificate(issued, key, out)
        cert = issued.document["certificate"]
        typer.echo(f"{p.sku}: {cert['type']} {cert['id']} -> {pdf_path}, {json_path}")

    if len(profiles) == 1:
        one(profiles[0])
    else:
        from rich.progress import Progress

        with Progress(transient=False) as progress:
            task = progress.add_task("certifying", total=len(profiles))
            for p in profiles:
                one(p)
                progress.advance(task)
    raise typer.Exit(EXIT_NOT_OK if refused else EXIT_OK)


def _missing_profile(profile: Path, file_form: bool, workspace: Path | None) -> None:
    """Fail naming the path when ``profile`` is meant as a file; return when it may be a SKU."""
    looks_like_path = (
        file_form or profile.suffix.lower() in (".yaml", ".yml", ".json") or len(profile.parts) > 1
    )
    if looks_like_path:
        fail(
            f"{profile}: no such profile file or folder"
            + ("" if file_form else f" (to certify a stored product, use --sku {profile})")
        )
    from toysafe.io.errors import InputError
    from toysafe.store.db import open_store

    try:
        open_store(workspace)
    except InputError as e:
        fail(
            f"{profile}: no such profile file or folder, and no workspace to find a SKU "
            f"'{profile}' in ({e})"
        )


certificate_app = typer.Typer(help="Work with issued certificates.", no_args_is_help=True)
app.add_typer(certificate_app, name="certificate")


@certificate_app.command("verify")
def certificate_verify(
    file: Annotated[Path, typer.Argument(help="A certificate: <sku>.cpc.json or <sku>.cpc.pdf.")],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", help="Trust only this key (PEM public key, certificate or private key)."
        ),
    ] = None,
    workspace: Annotated[Path | None, typer.Option("--workspace")] = None,
    fmt: Annotated[CertifyFormat, typer.Option("--format")] = CertifyFormat.text,
) -> None:
    """Check that a certificate is exactly as signed, by a trusted key: exit 0 valid, 1 changed
    or signed by an unknown key, 2 not a certificate. Trusted: the --key given, else this
    workspace's key or one registered for the certifier (toysafe keys trust)."""
    from toysafe.io.profiles import InputError
    from toysafe.usecases.certificate_check import check_file

    try:
        result = check_file(file, key, workspace)
    except InputError as e:
        fail(str(e))
    if fmt is CertifyFormat.json:
        import json

        typer.echo(json.dumps(result, indent=2))
    else:
        verdict = "VALID" if result["valid"] else "INVALID"
        typer.echo(f"{verdict}: {file}: {result['reason']}")
        for k in ("certificate_id", "digest", "key_id", "fingerprint", "signed_here"):
            if result.get(k) is not None:
                typer.echo(f"  {k}: {result[k]}")
    raise typer.Exit(EXIT_OK if result["valid"] else EXIT_NOT_OK)


class EfileFormat(StrEnum):
    json = "json"
    csv = "csv"


@app.command()
def efile(
    certificates: Annotated[list[Path], typer.Argument(help="Signed certificate JSON files.")],
    fmt: Annotated[EfileFormat, typer.Option("--format")] = EfileFormat.csv,
    columns: Annotated[
        Path | None, typer.Option("--columns", help="Column mapping YAML (header -> field).")
    ] = None,
    template: Annotated[
        Path | None, typer.Option("--template", help="CPSC template CSV: follow its header.")
    ] = None,
    codes: Annotated[
        Path | None, typer.Option("--citation-codes", help="CSV requirement,code from CPSC.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """Export certificates as eFiling data (CPSC Product Registry / CBP PGA message set)."""
    import json

    from toysafe.core.certificates.efiling import efiling_record
    from toysafe.io.efiling import (
        read_certificate,
        read_codes,
        read_columns,
        template_header,
        to_csv,
    )
    from toysafe.io.profiles import InputError

    try:
        docs = [read_certificate(p) for p in certificates]
        mapping = read_codes(codes)
        records = [efiling_record(d, mapping) for d in docs]
        if fmt is EfileFormat.csv:
            header = template_header(template) if template else None
            text = to_csv(records, read_columns(columns), header)
        else:
            text = (
                json.dumps(
                    {"format": "toysafe/efiling@1", "records": records},
                    indent=2,
                    ensure_ascii=False,
                )
                + "\n"
            )
    except InputError as e:
        fail(str(e))
    for r in records:
        for w in r["warnings"]:
            typer.echo(f"warning: {r['certificate_id']}: {w}", err=True)
    if out is None:
        typer.echo(text, nl=False)
    else:
        _write_atomic(out, text.encode())
        typer.echo(f"wrote {out}")


def _write_atomic(path: Path, data: bytes) -> None:
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".toysafe-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LabelFormat(StrEnum):
    text = "text"
    json = "json"


def _label_for(profile: Path, lot: str, made: str, party: Path | None, as_of: str | None):
    from toysafe.core.certificates.labels import make_label
    from toysafe.core.law.dates import ManufactureDate
    from toysafe.core.law.engine import assess as run_assess
    from toysafe.io.kb import default_kb
    from toysafe.io.profiles import InputError, read_profile
    from toysafe.usecases.certify import read_party

    when = parse_as_of(as_of)
    try:
        when_made = ManufactureDate.parse(made)
    except ValueError as e:
        fail(f"--made: {e}")
    try:
        prof = read_profile(profile)
        parties = read_party(party) if party else None
    except InputError as e:
        fail(str(e))
    prof = prof.model_copy(update={"manufactured": when_made})
    try:
        return make_label(prof, run_assess(prof, default_kb(), when), lot, when_made, parties)
    except ValueError as e:
        fail(str(e))


@app.command()
def labels(
    profile: Annotated[Path, typer.Argument(help="Product profile (YAML or JSON).")],
    lot: Annotated[str, typer.Option("--lot", help="Batch or run number.")],
    made: Annotated[str, typer.Option("--made", help="Manufacture month YYYY-MM (or day).")],
    party: Annotated[Path | None, typer.Option("--party", help="Party file (labeler).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the PDF label proof.")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of")] = None,
    fmt: Annotated[LabelFormat, typer.Option("--format")] = LabelFormat.text,
) -> None:
    """The tracking-label content and every warning due, as text and a PDF label proof."""
    label = _label_for(profile, lot, made, party, as_of)
    if fmt is LabelFormat.json:
        import json

        typer.echo(json.dumps(label.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo("TRACKING LABEL (15 U.S.C. 2063(a)(5)) - on the product and its packaging")
        for line in label.tracking:
            typer.echo(f"  {line}")
        if label.warnings:
            typer.echo("WARNINGS (16 CFR 1500.19) - with the safety-alert triangle, on the package")
            for w in label.warnings:
                typer.echo(f"  ⚠ {w.text}")
        if label.online:
            typer.echo("ONLINE LISTINGS (16 CFR 1500.20): show the same warnings on every listing")
        for note in label.notes:
            typer.echo(f"note: {note}")
    if out is not None:
        from toysafe.render.labels_pdf import render_label
        from toysafe.usecases.certify import file_stem

        path = out / f"{file_stem(label.sku, 'label')}.pdf"
        _write_atomic(path, render_label(label))
        typer.echo(f"label proof: {path}", err=fmt is LabelFormat.json)


@app.command("audit-pack")
def audit_pack(
    profile: Annotated[Path | None, typer.Argument(help="Product profile (YAML or JSON).")] = None,
    more: Annotated[list[Path] | None, typer.Argument(hidden=True)] = None,
    reports: Annotated[list[Path] | None, typer.Option("--reports", help="Lab reports.")] = None,
    labs: Annotated[Path | None, typer.Option("--labs", help="Lab registry CSV.")] = None,
    certificate: Annotated[
        Path | None, typer.Option("--certificate", help="<sku>.cpc.json (its PDF beside it).")
    ] = None,
    party: Annotated[Path | None, typer.Option("--party", help="Party file.")] = None,
    lot: Annotated[
        str | None, typer.Option("--lot", help="Lot for the label (default: the certificate's).")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="The zip to write.")] = None,
    check: Annotated[Path | None, typer.Option("--check", help="Verify an audit package.")] = None,
) -> None:
    """Zip the certificate, the reports relied on, the assessment, the labels and a manifest."""
    from toysafe.io.profiles import InputError
    from toysafe.usecases.audit_pack import check_pack

    if check is not None:
        try:
            result = check_pack(check)
        except InputError as e:
            fail(str(e))
        if result.valid:
            typer.echo(
                f"VALID: {check}: {result.files} files match the manifest; certificate "
                f"{result.certificate_id} signatures intact"
            )
            raise typer.Exit(EXIT_OK)
        typer.echo(f"INVALID: {check}")
        for p in result.problems:
            typer.echo(f"  {p}")
        raise typer.Exit(EXIT_NOT_OK)
    if profile is None or certificate is None or out is None:
        fail("give PROFILE, --certificate and --out (or --check ZIP)")
    _make_pack(
        profile, list(reports or []) + list(more or []), labs, certificate, party, lot, as_of, out
    )


def _make_pack(
    profile: Path,
    reports: list[Path],
    labs: Path | None,
    certificate: Path,
    party: Path | None,
    lot: str | None,
    as_of: str | None,
    out: Path,
) -> None:
    import json

    from toysafe.core.evidence.verify import verify as run_verify
    from toysafe.core.law.engine import assess as run_assess
    from toysafe.io.efiling import read_certificate
    from toysafe.io.kb import default_kb
    from toysafe.io.labs import read_labs
    from toysafe.io.profiles import InputError, read_profile
    from toysafe.io.reports import read_report_file
    from toysafe.render.labels_pdf import render_label
    from toysafe.usecases.audit_pack import buffer_json, write_pack

    when = parse_as_of(as_of)
    kb = default_kb()
    try:
        prof = read_profile(profile)
        doc = read_certificate(certificate)
        pdf_path = certificate.with_suffix(".pdf")
        pdf = pdf_path.read_bytes()
        registry = read_labs(labs) if labs else None
        by_file = {p: read_report_file(p) for p in _reports_in(reports)}
    except OSError as e:
        fail(f"{certificate.with_suffix('.pdf')}: cannot read the certificate PDF: {e.strerror}")
    except InputError as e:
        fail(str(e))
    c = doc["certificate"]
    if c["product"]["sku"] != prof.sku:
        fail(f"--certificate: it certifies {c['product']['sku']}, not {prof.sku}")
    relied = {t["report_no"] for t in c["testing"]}
    reports_found = [r for found in by_file.values() for _, r in found if r.report_no in relied]
    missing = relied - {r.report_no for r in reports_found}
    if missing:
        fail(
            f"--reports: the certificate relies on report(s) {', '.join(sorted(missing))}, "
            f"which were not given"
        )
    assessment = run_assess(prof, kb, when)
    verification = run_verify(prof, assessment, reports_found, kb, when, registry)
    files: dict[str, bytes] = {
        f"certificate/{certificate.name}": certificate.read_bytes(),
        f"certificate/{pdf_path.name}": pdf,
        f"product/{profile.name}": profile.read_bytes(),
        "assessment.json": json.dumps(assessment.to_dict(), indent=2).encode(),
        "verification.json": json.dumps(verification.to_dict(), indent=2).encode(),
    }
    for path, found in by_file.items():
        if any(r.report_no in relied for _, r in found):
            files[f"reports/{path.name}"] = path.read_bytes()
    if labs is not None:
        files[f"labs/{labs.name}"] = labs.read_bytes()
    label = _label_for(
        profile,
        lot or c["manufacture"].get("lot") or "unspecified",
        c["manufacture"]["date"],
        party,
        as_of,
    )
    files["labels/label.json"] = buffer_json(label.to_dict())
    files["labels/label.pdf"] = render_label(label)
    write_pack(out, files, doc, verification.valid_until)
    typer.echo(
        f"wrote {out}: {len(files)} files and manifest.json (check: toysafe audit-pack "
        f"--check {out})"
    )

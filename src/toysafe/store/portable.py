"""Moving a whole workspace: export it as a tree of contract files, import such a tree into an
empty database, and back it up or restore it as one zip. Every import is one transaction.

Layout (``toysafe/workspace-export@1``; every file sorted, so export -> import -> export gives the
same bytes except ``manifest.json``'s ``exported_at``)::

    manifest.json                        format, exported_at, counts
    organizations/<org>.yaml             slug, name, created_at, party (toysafe/party@1)
    products/<org>/<sku>/v<N>.yaml       every profile version (toysafe/product@1)
    products/<org>/<sku>/versions.json   org, sku, created_at and each version's metadata
    listings.csv, lots.csv               one row each, keyed by org (and sku)
    labs.csv                             toysafe/labs@1 with address, phone, status_since
    reports/<org>/<report_no>.json       toysafe/lab-report@1; reports/index.json keeps source
    certificates/<id>.json, <id>.pdf     toysafe/certificate@1 and its PDF; certificates/index.json
    events.jsonl                         every event in order: at, actor, org, kind, subject, detail
    access.json                          users, API tokens (hashes), lab shares, enrollments
    tables/<table>.jsonl, tables/index.json  every other kept table row by row (backup_tables.py)
    keys.json                            (a backup only) the keys, encrypted, or why they are not

Timestamps are ISO 8601 UTC. Surrogate ids are not exported; ``product_states`` is recomputed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from toysafe.core.catalog.status import profile_digest
from toysafe.core.certificates.party import Party
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import LabRegistry
from toysafe.io.errors import InputError, describe_validation_error
from toysafe.io.labs import COLUMNS as LAB_REQUIRED
from toysafe.io.labs import OPTIONAL as LAB_OPTIONAL
from toysafe.io.labs import labs_from_csv
from toysafe.io.profiles import profile_from_data
from toysafe.io.reports import report_from_data
from toysafe.store import models as m
from toysafe.store.access_export import (
    ACCESS,
    KEYS,
    Access,
    Keys,
    export_access,
    install_keys,
    pack_keys,
    read_access,
    read_keys,
    trust_old_keys,
    write_access,
)
from toysafe.store.backup_tables import Rows, export_rows, import_rows
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.workspace import Workspace, report_digest

FORMAT = "toysafe/workspace-export@1"
LAB_COLUMNS = LAB_REQUIRED + LAB_OPTIONAL
RESERVED = ("index", "index.json")  # names the export itself uses beside entity files
# A workspace holding any of these is not empty: a restore replaces it only with --force.
HELD = (
    m.Product,
    m.Report,
    m.Certificate,
    m.User,
    pm.PolicyVersion,
    pm.ProgramListing,
    pm.WebhookEndpoint,
)
Put = Callable[[str, bytes], Any]
T = TypeVar("T", bound=BaseModel)


class _HasOrg(Protocol):
    @property
    def org(self) -> str | None: ...


K = TypeVar("K", bound=_HasOrg)


# --- public operations -------------------------------------------------------------------------


def export_workspace(store: Store, out: Path) -> dict[str, int]:
    """Write the workspace under ``out`` (a new or empty directory): every file, or none."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: already exists and is not empty: export into a new directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.toysafe-{uuid.uuid4().hex[:12]}"
    staging.mkdir()  # beside ``out``, so that the final rename is atomic
    try:

        def put(rel: str, data: bytes) -> None:
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_bytes(data)

        counts = _export(store, put)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def import_workspace(store: Store, src: Path) -> dict[str, int]:
    """Load an export directory into an empty workspace, in one transaction. Empty means no
    products, reports or certificates; organizations, labs, listings, events are replaced."""
    return _load(store, _Source.directory(src), force=False, hint="import into an empty workspace")


def backup(
    store: Store,
    file: Path,
    home: Path | None = None,
    passphrase: bytes | None = None,
    keys_reason: str = "no passphrase was given",
) -> dict[str, int]:
    """Write the export as one zip; the file appears complete or not at all. With ``home``
    (the workspace directory), ``keys.json`` holds its keys encrypted with ``passphrase``, or
    says that they were left out and why (``keys_reason``)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".toysafe-backup-", suffix=".zip", dir=file.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                counts = _export(store, zf.writestr)
                if home is not None:
                    zf.writestr(KEYS, pack_keys(home, passphrase, keys_reason))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, file)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return counts


def restore(store: Store, file: Path, force: bool = False) -> dict[str, int]:
    """Replace the workspace with a backup, in one transaction; a workspace holding products,
    reports or certificates is refused unless ``force`` (then every row is deleted first)."""
    return restore_workspace(store, file, force)[0]


def restore_workspace(
    store: Store,
    file: Path,
    force: bool = False,
    home: Path | None = None,
    passphrase: bytes | None = None,
    without_keys: bool = False,
) -> tuple[dict[str, int], Keys]:
    """``restore``, and with ``home`` the workspace's keys too (decrypted before anything is
    written, installed once the database is restored); the Keys say what became of them."""
    try:
        archive = zipfile.ZipFile(file)
    except FileNotFoundError:
        raise InputError(f"{file}: no such file") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise InputError(f"{file}: not a readable zip file (a toysafe backup): {e}") from None
    with archive:
        src = _Source.archive(archive, file)
        keys = Keys(False, "not asked for")
        if home is not None:
            data = src.json(KEYS) if KEYS in src.files else None
            keys = read_keys(data, src.where(KEYS), passphrase, without_keys)
        counts = _load(store, src, force, "use --force to replace them")
    if home is not None and keys.files:
        install_keys(home, keys)
    elif home is not None and keys.public:
        keys = trust_old_keys(home, keys, _certifiers_by_key(store))
    return counts, keys


def _certifiers_by_key(store: Store) -> dict[str, list[str]]:
    """Key id -> the certifier named by each stored certificate that key signed."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from toysafe.core.certificates import seal

    out: dict[str, list[str]] = {}
    with store.reader() as s:
        for doc in s.scalars(select(m.Certificate.document)):
            try:
                raw = base64.b64decode(doc["signature"]["public_key"], validate=True)
                kid = seal.key_id(Ed25519PublicKey.from_public_bytes(raw))
                name = str(doc["certificate"]["certifier"]["name"])
            except (KeyError, TypeError, ValueError):
                continue
            out.setdefault(kid, []).append(name)
    return out


# --- entries: what the index files and CSV rows hold, written and read by the same models -----


def _utc(value: datetime) -> datetime:
    """Timestamps in UTC (SQLite hands back naive UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


Stamp = Annotated[datetime, AfterValidator(_utc)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    def out(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class _Org(_Entry):
    slug: str
    name: str
    created_at: Stamp = Field(default_factory=_now)
    party: dict[str, Any] | None = None


class _Version(_Entry):
    version: int = Field(ge=1)
    created_on: date
    created_by: str
    changed_components: list[Any] = []
    created_at: Stamp = Field(default_factory=_now)


class _Product(_Entry):
    org: str
    sku: str
    created_at: Stamp = Field(default_factory=_now)
    versions: list[_Version] = Field(min_length=1)


class _Listing(_Entry):
    org: str
    marketplace: str
    listing_id: str
    sku: str
    title: str | None = None
    status: str | None = None
    updated_at: Stamp = Field(default_factory=_now)


class _Lot(_Entry):
    org: str
    sku: str
    lot_no: str
    manufactured: str
    city: str | None = None
    country: str | None = None


class _ReportEntry(_Entry):
    org: str
    report_no: str
    file: str
    source: str | None = None
    created_at: Stamp = Field(default_factory=_now)


class _CertificateEntry(_Entry):
    id: str
    file: str
    org: str
    sku: str
    product_version: int
    version: int
    reports: list[str] = []
    created_at: Stamp = Field(default_factory=_now)
    # The marketplace renewal date (policy, not in the signed document); None before it was kept.
    valid_until: date | None = None


class _Event(_Entry):
    at: Stamp = Field(default_factory=_now)
    actor: str
    org: str | None = None
    kind: str
    subject: str
    detail: dict[str, Any] = {}


# --- export ------------------------------------------------------------------------------------


def _export(store: Store, put: Put) -> dict[str, int]:
    """Write every file through ``put``, from one consistent snapshot; returns the counts."""
    with store.transaction() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        slugs: dict[int, str] = dict(
            s.execute(select(m.Organization.id, m.Organization.slug)).all()
        )
        dirs = _names(slugs.values())
        orgs = [_Org.model_validate(o) for o in s.scalars(select(m.Organization))]
        for org in orgs:
            put(
                f"organizations/{dirs[org.slug]}.yaml",
                _yaml(org.model_dump(mode="json", exclude_none=True)),
            )
        counts = {"organizations": len(orgs), **_export_products(s, put, slugs, dirs)}
        counts["listings"] = _export_csv(
            s,
            put,
            "listings.csv",
            _Listing,
            _select(_Listing, m.Listing, org=m.Organization.slug)
            .select_from(m.Listing)
            .join(m.Organization, m.Organization.id == m.Listing.org_id),
        )
        counts["lots"] = _export_csv(
            s,
            put,
            "lots.csv",
            _Lot,
            _select(_Lot, m.Lot, org=m.Organization.slug, sku=m.Product.sku)
            .select_from(m.Lot)
            .join(m.Product, m.Product.id == m.Lot.product_id)
            .join(m.Organization, m.Organization.id == m.Product.org_id),
        )
        labs = {lab.cpsc_id: lab for lab in s.scalars(select(m.Lab))}
        scopes = s.execute(select(m.LabScope.lab_id, m.LabScope.scope, m.LabScope.accepted_on))
        rows = [
            {c: getattr(labs[lab], c, None) for c in LAB_COLUMNS}
            | {"scope": scope, "accepted_on": accepted}
            for lab, scope, accepted in scopes
        ]
        put("labs.csv", _csv(LAB_COLUMNS, rows))
        counts |= {"labs": len(labs), "lab_scopes": len(rows)}
        counts["reports"] = _export_reports(s, put, slugs, dirs)
        counts["certificates"] = _export_certificates(s, put)
        events = [
            _Event.model_validate(e._mapping).out()
            for e in s.execute(
                _select(_Event, m.Event, org=m.Organization.slug)
                .select_from(m.Event)
                .outerjoin(m.Organization, m.Organization.id == m.Event.org_id)
                .order_by(m.Event.id)
            )
        ]
        put("events.jsonl", "".join(_line(e) for e in events).encode())
        counts["events"] = len(events)
        access, access_counts = export_access(s)
        put(ACCESS, access)
        counts |= access_counts
        counts["table_rows"] = export_rows(s, put)
    put(
        "manifest.json",
        _json(
            {
                "format": FORMAT,
                "exported_at": _now().isoformat().replace("+00:00", "Z"),
                "counts": counts,
            }
        ),
    )
    return counts


def _export_products(
    s: Session, put: Put, slugs: dict[int, str], dirs: dict[str, str]
) -> dict[str, int]:
    products = list(s.scalars(select(m.Product)))
    names = _names_by_org((slugs[p.org_id], p.sku) for p in products)
    versions: dict[int, list[m.ProductVersion]] = {}
    for v in s.scalars(select(m.ProductVersion).order_by(m.ProductVersion.version)):
        versions.setdefault(v.product_id, []).append(v)
    for p in products:
        org = slugs[p.org_id]
        base = f"products/{dirs[org]}/{names[org, p.sku]}"
        for v in versions[p.id]:
            put(f"{base}/v{v.version}.yaml", _yaml(v.profile))
        meta = _Product(
            org=org,
            sku=p.sku,
            created_at=p.created_at,
            versions=[_Version.model_validate(v) for v in versions[p.id]],
        )
        put(f"{base}/versions.json", _json(meta.out()))
    return {"products": len(products), "product_versions": sum(map(len, versions.values()))}


def _export_reports(s: Session, put: Put, slugs: dict[int, str], dirs: dict[str, str]) -> int:
    reports = list(s.scalars(select(m.Report)))
    names = _names_by_org((slugs[r.org_id], r.report_no) for r in reports)
    index = []
    for r in reports:
        org = slugs[r.org_id]
        file = f"{dirs[org]}/{names[org, r.report_no]}.json"
        put(f"reports/{file}", _json(r.document))
        index.append(
            _ReportEntry(
                org=org, report_no=r.report_no, file=file, source=r.source, created_at=r.created_at
            ).out()
        )
    put("reports/index.json", _json(sorted(index, key=lambda x: (x["org"], x["report_no"]))))
    return len(index)


def _export_certificates(s: Session, put: Put) -> int:
    relied: dict[str, list[str]] = {}
    for cid, number in s.execute(
        select(m.CertificateReport.certificate_id, m.Report.report_no).join(
            m.Report, m.Report.id == m.CertificateReport.report_id
        )
    ):
        relied.setdefault(cid, []).append(number)
    names = _names(s.scalars(select(m.Certificate.id)))
    index = []
    rows = s.execute(
        select(m.Certificate, m.Organization.slug, m.Product.sku)
        .join(m.Product, m.Product.id == m.Certificate.product_id)
        .join(m.Organization, m.Organization.id == m.Certificate.org_id)
        .execution_options(yield_per=50)
    )
    for c, org, sku in rows:
        put(f"certificates/{names[c.id]}.json", _json(c.document))
        put(f"certificates/{names[c.id]}.pdf", c.pdf)
        index.append(
            _CertificateEntry(
                id=c.id,
                file=names[c.id],
                org=org,
                sku=sku,
                product_version=c.product_version,
                version=c.version,
                reports=sorted(relied.get(c.id, [])),
                created_at=c.created_at,
                valid_until=c.valid_until,
            ).out()
        )
        s.expunge(c)  # PDFs add up: keep only the current one in memory
    put("certificates/index.json", _json(sorted(index, key=lambda x: x["id"])))
    return len(index)


def _export_csv(s: Session, put: Put, rel: str, model: type[_Entry], query: Select[Any]) -> int:
    rows = [model.model_validate(row._mapping).out() for row in s.execute(query)]
    put(rel, _csv(tuple(model.model_fields), rows))
    return len(rows)


def _select(model: type[BaseModel], entity: Any, **others: Any) -> Select[Any]:
    """The columns of ``entity`` labelled as ``model``'s fields; ``others`` come from elsewhere."""
    return select(
        *[(others[f] if f in others else getattr(entity, f)).label(f) for f in model.model_fields]
    )


# --- reading an export -------------------------------------------------------------------------


@dataclass
class _Stored:
    product: _Product
    profiles: list[tuple[dict[str, Any], str]]  # (profile data, digest) per version, in order


@dataclass
class _Cert:
    entry: _CertificateEntry
    columns: dict[str, Any]
    pdf: bytes


@dataclass
class _Bundle:
    """A whole export, parsed and cross-checked, ready to write."""

    orgs: list[_Org]
    products: list[_Stored]
    listings: list[_Listing]
    lots: list[_Lot]
    labs: LabRegistry | None
    reports: list[tuple[_ReportEntry, LabReport, dict[str, Any]]]
    certificates: list[_Cert]
    events: list[_Event]
    access: Access = field(default_factory=Access)

    def counts(self) -> dict[str, int]:
        labs = list(self.labs.labs.values()) if self.labs else []
        return {
            "organizations": len(self.orgs),
            "products": len(self.products),
            "product_versions": sum(len(p.profiles) for p in self.products),
            "listings": len(self.listings),
            "lots": len(self.lots),
            "labs": len(labs),
            "lab_scopes": sum(len(lab.scopes) for lab in labs),
            "reports": len(self.reports),
            "certificates": len(self.certificates),
            "events": len(self.events),
            **self.access.counts(),
        }


class _Source:
    """The files of an export (a directory or a zip), by relative path, named for messages."""

    def __init__(
        self, name: str, sep: str, files: Iterable[str], reader: Callable[[str], bytes]
    ) -> None:
        self.name, self.sep, self.files, self.reader = name, sep, set(files), reader

    @classmethod
    def directory(cls, root: Path) -> _Source:
        if not root.is_dir():
            raise InputError(f"{root}: no such directory (a toysafe workspace export)")
        files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        return cls(str(root), "/", files, lambda rel: (root / rel).read_bytes())

    @classmethod
    def archive(cls, zf: zipfile.ZipFile, file: Path) -> _Source:
        """A backup, or a zip of an export directory (its files under one folder)."""
        files = [n for n in zf.namelist() if not n.endswith("/")]
        tops = [
            n.removesuffix("manifest.json")
            for n in files
            if n.endswith("/manifest.json") and n.count("/") == 1
        ]
        prefix = tops[0] if "manifest.json" not in files and len(tops) == 1 else ""
        inner = [n.removeprefix(prefix) for n in files if n.startswith(prefix)]
        return cls(str(file), ":", inner, lambda rel: zf.read(prefix + rel))

    def where(self, rel: str) -> str:
        return f"{self.name}{self.sep}{rel}"

    def read(self, rel: str) -> bytes:
        if rel not in self.files:
            raise InputError(f"{self.where(rel)}: missing from the export")
        try:
            return self.reader(rel)
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise InputError(f"{self.where(rel)}: cannot read: {e}") from None

    def text(self, rel: str) -> str:
        try:
            return self.read(rel).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{self.where(rel)}: not UTF-8 text") from None

    def json(self, rel: str) -> Any:
        try:
            return json.loads(self.text(rel))
        except json.JSONDecodeError as e:
            raise InputError(f"{self.where(rel)}: not valid JSON: {e}") from None

    def yaml(self, rel: str) -> Any:
        try:
            return yaml.safe_load(self.text(rel))
        except yaml.YAMLError as e:
            first = str(e).splitlines()[0]
            raise InputError(f"{self.where(rel)}: not valid YAML: {first}") from None

    def rows(self, rel: str, model: type[T]) -> Iterator[tuple[str, T]]:
        """Each CSV row as ``model`` (empty cells: None) with its ``file line N`` label."""
        reader = csv.DictReader(io.StringIO(self.text(rel)))
        columns = tuple(model.model_fields)
        if tuple(reader.fieldnames or ()) != columns:
            raise InputError(f"{self.where(rel)}: header: expected {','.join(columns)}")
        for row in reader:
            where = f"{self.where(rel)} line {reader.line_num}"
            if None in row:
                raise InputError(f"{where}: more cells than the header has columns")
            yield where, _model(model, {k: v or None for k, v in row.items()}, f"{where}: ")

    def index(self, rel: str, model: type[T]) -> list[tuple[str, T]]:
        data = self.json(rel)
        if not isinstance(data, list):
            raise InputError(f"{self.where(rel)}: expected a list of entries")
        return [
            (f"{self.where(rel)}[{i}]", _model(model, x, f"{self.where(rel)}[{i}]."))
            for i, x in enumerate(data)
        ]


def _read(src: _Source) -> _Bundle:
    """Parse and cross-check every file of an export; any problem is an InputError naming it."""
    manifest = src.json("manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{src.where('manifest.json')}: format: expected {FORMAT}")
    orgs = []
    for rel in sorted(f for f in src.files if f.startswith("organizations/")):
        if rel.count("/") == 1 and rel.endswith(".yaml"):
            orgs.append(_model(_Org, src.yaml(rel), src.where(rel) + ": "))
            if orgs[-1].party is not None:
                _model(Party, orgs[-1].party, src.where(rel) + ": party.")
    _unique(((o.slug,), src.where("organizations/")) for o in orgs)
    slugs = {o.slug for o in orgs}
    products = [
        _read_product(src, rel, slugs)
        for rel in sorted(src.files)
        if rel.startswith("products/") and rel.count("/") == 3 and rel.endswith("/versions.json")
    ]
    _unique(((p.product.org, p.product.sku), src.where("products/")) for p in products)
    skus = {(p.product.org, p.product.sku) for p in products}
    listings = [_known(x, slugs, where) for where, x in src.rows("listings.csv", _Listing)]
    _unique(
        ((x.org, x.marketplace, x.listing_id, x.sku), src.where("listings.csv")) for x in listings
    )
    lots = []
    for where, lot in src.rows("lots.csv", _Lot):
        if (lot.org, lot.sku) not in skus:
            raise InputError(f"{where}: sku: no product '{lot.sku}' of '{lot.org}' in the export")
        lots.append(lot)
    _unique(((x.org, x.sku, x.lot_no), src.where("lots.csv")) for x in lots)
    labs_text = src.text("labs.csv")
    has_labs = sum(1 for row in csv.reader(io.StringIO(labs_text)) if row) > 1
    labs = labs_from_csv(labs_text, src.where("labs.csv")) if has_labs else None
    reports = _read_reports(src, slugs)
    certificates = _read_certificates(src, skus, {(e.org, e.report_no) for e, _, _ in reports})
    events = []
    for i, line in enumerate(src.text("events.jsonl").splitlines(), start=1):
        where = f"{src.where('events.jsonl')} line {i}"
        try:
            event = _model(_Event, json.loads(line), where + ": ")
        except json.JSONDecodeError as e:
            raise InputError(f"{where}: not valid JSON: {e}") from None
        events.append(_known(event, slugs, where))
    access = (
        read_access(src.json(ACCESS), src.where(ACCESS), slugs, skus)
        if ACCESS in src.files
        else Access()  # an export made before access.json
    )
    bundle = _Bundle(orgs, products, listings, lots, labs, reports, certificates, events, access)
    stated = manifest.get("counts")
    for key, count in bundle.counts().items():
        if isinstance(stated, dict) and stated.get(key, count) != count:
            raise InputError(
                f"{src.where('manifest.json')}: counts.{key}: {stated[key]}, but the "
                f"export holds {count} (an incomplete export?)"
            )
    return bundle


def _read_product(src: _Source, rel: str, slugs: set[str]) -> _Stored:
    meta = _model(_Product, src.json(rel), src.where(rel) + ": ")
    _known(meta, slugs, src.where(rel))
    meta.versions.sort(key=lambda v: v.version)
    _unique(((v.version,), src.where(rel)) for v in meta.versions)
    profiles = []
    for v in meta.versions:
        name = rel.removesuffix("versions.json") + f"v{v.version}.yaml"
        profile = profile_from_data(src.yaml(name), src.where(name))
        if profile.sku != meta.sku:
            raise InputError(
                f"{src.where(name)}: sku: '{profile.sku}', but versions.json says '{meta.sku}'"
            )
        profiles.append((profile.to_data(), profile_digest(profile)))
    return _Stored(meta, profiles)


def _read_reports(
    src: _Source, slugs: set[str]
) -> list[tuple[_ReportEntry, LabReport, dict[str, Any]]]:
    out = []
    for where, entry in src.index("reports/index.json", _ReportEntry):
        _known(entry, slugs, where)
        rel = f"reports/{entry.file}"
        doc = src.json(rel)
        if not isinstance(doc, dict):
            raise InputError(f"{src.where(rel)}: expected a lab report object")
        report = report_from_data(doc, src.where(rel))
        if report.report_no != entry.report_no:
            raise InputError(
                f"{src.where(rel)}: report_no: '{report.report_no}', but the index "
                f"says '{entry.report_no}'"
            )
        out.append(
            (entry, report, report.model_dump(mode="json", by_alias=True, exclude_none=True))
        )
    _unique(((e.org, e.report_no), src.where("reports/index.json")) for e, _, _ in out)
    return out


def _read_certificates(
    src: _Source, skus: set[tuple[str, str]], reports: set[tuple[str, str]]
) -> list[_Cert]:
    out = []
    for where, entry in src.index("certificates/index.json", _CertificateEntry):
        if (entry.org, entry.sku) not in skus:
            raise InputError(
                f"{where}: sku: no product '{entry.sku}' of '{entry.org}' in the export"
            )
        unknown = [r for r in entry.reports if (entry.org, r) not in reports]
        if unknown:
            raise InputError(f"{where}: reports: {', '.join(unknown)} not in the export")
        rel = f"certificates/{entry.file}.json"
        columns = _certificate_columns(src.json(rel), src.where(rel))
        if (columns["id"], columns["version"]) != (entry.id, entry.version):
            raise InputError(
                f"{src.where(rel)}: certificate {columns['id']} version "
                f"{columns['version']}, but the index says {entry.id} {entry.version}"
            )
        out.append(_Cert(entry, columns, src.read(f"certificates/{entry.file}.pdf")))
    index = src.where("certificates/index.json")
    _unique(((c.entry.id,), index) for c in out)
    _unique(((c.entry.org, c.entry.sku, c.entry.version), index) for c in out)
    return out


def _certificate_columns(doc: Any, where: str) -> dict[str, Any]:
    """The looked-up columns of a signed ``toysafe/certificate@1`` document."""
    try:
        c = doc["certificate"]
        legacy = c.get("valid_until")  # the marketplace window is not part of the certificate
        until = date.fromisoformat(legacy) if legacy else None
        return {
            "id": c["id"],
            "version": c["version"],
            "type": c["type"],
            "issued": date.fromisoformat(c["issued"]),
            "valid_until": until,
            "toy_standard": c["toy_standard"],
            "digest": doc["signature"]["digest"],
            "document": doc,
        }
    except KeyError as e:
        raise InputError(f"{where}: {e.args[0]}: is required (toysafe/certificate@1)") from None
    except (TypeError, ValueError) as e:
        raise InputError(f"{where}: not a toysafe/certificate@1 document: {e}") from None


def _model(model: type[T], data: Any, prefix: str) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise InputError(describe_validation_error(e, prefix)) from None


def _known(item: K, slugs: set[str], where: str) -> K:
    """``item``, once its organization is known to be in the export."""
    if item.org is not None and item.org not in slugs:
        raise InputError(f"{where}: org: no organization '{item.org}' in the export")
    return item


def _unique(keys: Iterable[tuple[tuple[Any, ...], str]]) -> None:
    seen: set[tuple[Any, ...]] = set()
    for key, where in keys:
        if key in seen:
            raise InputError(f"{where}: {' '.join(map(str, key))} appears twice")
        seen.add(key)


# --- writing into the database -----------------------------------------------------------------


def _load(store: Store, src: _Source, force: bool, hint: str) -> dict[str, int]:
    """Parse everything, then empty the database and write it all, in one transaction."""
    bundle = _read(src)
    try:
        with store.transaction() as s:
            held = {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in HELD}
            if any(held.values()) and not force:
                what = ", ".join(f"{n} {k}" for k, n in held.items() if n)
                raise InputError(f"the workspace already holds {what}: {hint}")
            for table in reversed(m.Base.metadata.sorted_tables):
                s.execute(delete(table))
            _write(s, bundle)
            rows = import_rows(s, Rows(src.files, src.text, src.where))
            for org in bundle.orgs:
                Workspace(store, org.slug, who="import").refresh(s, None, as_of=date.today())
    except (IntegrityError, DataError) as e:
        detail = str(e.orig).splitlines()[0] if e.orig else str(e)
        raise InputError(f"{src.name}: cannot import: {detail}") from None
    return bundle.counts() | {"table_rows": rows}


def _write(s: Session, b: _Bundle) -> None:
    orgs = {}
    for o in b.orgs:
        orgs[o.slug] = m.Organization(slug=o.slug, name=o.name, created_at=o.created_at)
        if o.party is not None:  # unset otherwise: SQL NULL rather than JSON null
            orgs[o.slug].party = o.party
    s.add_all(orgs.values())
    s.flush()
    products = {}
    for p in b.products:
        latest = p.profiles[-1][0]
        products[p.product.org, p.product.sku] = m.Product(
            org_id=orgs[p.product.org].id,
            sku=p.product.sku,
            model=latest.get("model"),
            gtin=latest.get("gtin"),
            latest_version=p.product.versions[-1].version,
            created_at=p.product.created_at,
        )
    s.add_all(products.values())
    s.flush()
    _insert(
        s,
        m.ProductVersion,
        [
            {
                **v.model_dump(),
                "product_id": products[p.product.org, p.product.sku].id,
                "digest": digest,
                "profile": data,
            }
            for p in b.products
            for v, (data, digest) in zip(p.product.versions, p.profiles, strict=True)
        ],
    )
    _insert(
        s,
        m.Listing,
        [{**x.model_dump(exclude={"org"}), "org_id": orgs[x.org].id} for x in b.listings],
    )
    _insert(
        s,
        m.Lot,
        [
            {**x.model_dump(exclude={"org", "sku"}), "product_id": products[x.org, x.sku].id}
            for x in b.lots
        ],
    )
    labs = list(b.labs.labs.values()) if b.labs else []
    lab_columns = [c.name for c in m.Lab.__table__.columns]
    _insert(s, m.Lab, [{c: getattr(x, c) for c in lab_columns} for x in labs])
    _insert(
        s,
        m.LabScope,
        [
            {"lab_id": x.cpsc_id, "scope": k, "accepted_on": v}
            for x in labs
            for k, v in x.scopes.items()
        ],
    )
    report_ids = {}
    for e, r, doc in b.reports:
        row = m.Report(
            org_id=orgs[e.org].id,
            report_no=r.report_no,
            lab_cpsc_id=r.lab.cpsc_id,
            issued=r.issued,
            tested_from=r.tested.from_,
            tested_to=r.tested.to,
            standard=r.standard,
            digest=report_digest(doc),
            document=doc,
            source=e.source,
            created_at=e.created_at,
        )
        s.add(row)
        report_ids[e.org, e.report_no] = row
    s.flush()
    _insert(
        s,
        m.ReportProduct,
        [
            {
                "report_id": report_ids[e.org, e.report_no].id,
                **p.model_dump(include={"sku", "model", "gtin"}),
            }
            for e, r, _ in b.reports
            for p in r.products
        ],
    )
    _insert(
        s,
        m.Result,
        [
            {
                "report_id": report_ids[e.org, e.report_no].id,
                **x.model_dump(
                    include={"requirement", "component", "analyte", "loq", "unit", "verdict"}
                ),
                "value": None if x.value is None else str(x.value),
            }
            for e, r, _ in b.reports
            for x in r.results
        ],
    )
    _insert(
        s,
        m.Certificate,
        [
            {
                **c.columns,
                **c.entry.model_dump(include={"product_version", "created_at"}),
                # an index written before the renewal date was kept: the document's legacy
                **(
                    {"valid_until": c.entry.valid_until}
                    if "valid_until" in c.entry.model_fields_set
                    else {}
                ),
                "org_id": orgs[c.entry.org].id,
                "product_id": products[c.entry.org, c.entry.sku].id,
                "pdf": c.pdf,
            }
            for c in b.certificates
        ],
    )
    _insert(
        s,
        m.CertificateReport,
        [
            {"certificate_id": c.entry.id, "report_id": report_ids[c.entry.org, number].id}
            for c in b.certificates
            for number in c.entry.reports
        ],
    )
    _insert(
        s,
        m.Event,
        [  # in file order, so that ids keep the original order
            {**e.model_dump(exclude={"org"}), "org_id": orgs[e.org].id if e.org else None}
            for e in b.events
        ],
    )
    write_access(s, b.access, orgs, products)


def _insert(s: Session, model: type[m.Base], rows: list[dict[str, Any]]) -> None:
    if rows:
        s.execute(insert(model), rows)


# --- formats -----------------------------------------------------------------------------------


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _line(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n"


def _yaml(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=True, allow_unicode=True).encode()


def _csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """A header and the rows, sorted; None is an empty cell."""
    table = sorted([("" if r[c] is None else str(r[c])) for c in columns] for r in rows)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([list(columns), *table])
    return buf.getvalue().encode()


def _names(keys: Iterable[str]) -> dict[str, str]:
    """A file name for each key: portable characters only, unique even where case is ignored."""
    out: dict[str, str] = {}
    taken = set(RESERVED)
    for key in sorted(keys):
        base = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in key)
        base = "_" + base[1:] if base.startswith(".") else base or "_"
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}~{n}"
        taken.add(name.lower())
        out[key] = name
    return out


def _names_by_org(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    groups: dict[str, list[str]] = {}
    for org, key in keys:
        groups.setdefault(org, []).append(key)
    return {(org, k): name for org, ks in groups.items() for k, name in _names(ks).items()}

"""Filing a TIC's direct validation (contract 8.3) and the TIC extension (P5), all or nothing.

The checks are the pure core's (``toysafe.core.program.validation``); this module loads what
they need (policy, listings, the validation on file, pins, lab registry), writes what they
decide, and hands a filed validation to the listing's open request as its submission (P7, P8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toysafe.core.evidence.labs import LabRegistry
from toysafe.core.law.engine import assess
from toysafe.core.program import validation as v
from toysafe.core.program.model import OPEN_STATES
from toysafe.core.program.policy import Category, Policy
from toysafe.core.reasons import Problem, Reason
from toysafe.io.errors import InputError
from toysafe.io.kb import default_kb
from toysafe.io.validations import parse_bytes, validation_from_data
from toysafe.render.validation import outcome_dict, refusal_text
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program import validation_models as vm

FILED_STATES = ("open", "revision_requested")  # a request waiting for proof


@dataclass
class Filing:
    """What filing one document did."""

    outcome: v.Outcome
    policy_version: int
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.outcome.refused

    def to_dict(self) -> dict[str, Any]:
        out = outcome_dict(self.outcome)
        out["policy_version"] = self.policy_version
        out["unchanged"] = self.outcome.unchanged
        out["requests"] = self.requests
        return out


class ValidationRefused(Exception):
    """A refusal that is not about the document (the extension), with its code and words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def current_policy(s: Session) -> tuple[int, Policy]:
    row = s.scalar(select(pm.PolicyVersion).order_by(pm.PolicyVersion.version.desc()).limit(1))
    if row is None:
        raise InputError("no policy is loaded: run 'toysafe program policy load FILE' first")
    return row.version, Policy.model_validate(row.document)


def tic_of_lab(policy: Policy, cpsc_lab_id: str | None) -> str | None:
    """The approved TIC a lab (by its CPSC lab id) belongs to, if any."""
    if not cpsc_lab_id:
        return None
    return next((t.id for t in policy.approved_tics if cpsc_lab_id in t.cpsc_lab_ids), None)


class Validations:
    def __init__(self, store: Store, actor: str) -> None:
        self.store = store
        self.actor = actor

    # --- loading ------------------------------------------------------------------------------

    def _listings(
        self, s: Session, doc: v.Validation, source: str, policy: Policy
    ) -> tuple[dict[str, pm.ProgramListing], list[Category]]:
        rows = {
            r.listing_id: r
            for r in s.scalars(
                select(pm.ProgramListing)
                .where(pm.ProgramListing.listing_id.in_(doc.listing_ids))
                .order_by(pm.ProgramListing.id)
                .with_for_update()  # two filings for one listing take turns (PostgreSQL)
            )
        }
        owners = {r.seller_org_id for r in rows.values()}
        sellers: dict[int, str] = {
            row.id: row.slug
            for row in s.execute(
                select(m.Organization.id, m.Organization.slug).where(m.Organization.id.in_(owners))
            )
        }
        categories: list[Category] = []
        for i, lid in enumerate(doc.listing_ids):
            row = rows.get(lid)
            if row is None:
                raise InputError(
                    problems=[
                        Problem(source, ("listing_ids", i), Reason("unknown_listing", {"id": lid}))
                    ]
                )
            owner = sellers.get(row.seller_org_id)
            if owner != doc.seller:
                why = Reason(
                    "listing_of_other_seller", {"id": lid, "owner": owner, "seller": doc.seller}
                )
                raise InputError(problems=[Problem(source, ("listing_ids", i), why)])
            key = policy.category_of(row.category)
            if key is not None:
                categories.append(policy.categories[key])
        if not categories:
            why = Reason("no_listing_in_policy")
            raise InputError(problems=[Problem(source, ("listing_ids",), why)])
        return rows, categories

    def _on_file(self, s: Session, rows: dict[str, pm.ProgramListing]) -> dict[str, v.OnFile]:
        by_pk = {r.id: r.listing_id for r in rows.values()}
        out: dict[str, v.OnFile] = {}
        for row in s.scalars(select(pm.Validation).where(pm.Validation.listing_pk.in_(by_pk))):
            lid = by_pk[row.listing_pk]
            digest = s.scalar(
                select(vm.ValidationFiling.content_hash).where(
                    vm.ValidationFiling.trf == row.trf, vm.ValidationFiling.revision == row.revision
                )
            ) or v.content_hash(row.document)
            out[lid] = v.OnFile(lid, row.trf, row.revision, row.issued, digest)
        return out

    def _pins(self, s: Session, numbers: list[str]) -> dict[str, v.Pin]:
        """What is on file under these report numbers: validation pins first, then the lab
        reports of every organization's catalog, then reports sellers submitted."""
        out = {
            p.report_no: v.Pin(p.report_no, p.issued, p.cpsc_lab_id, p.content_hash, p.source)
            for p in s.scalars(select(vm.EvidencePin).where(vm.EvidencePin.report_no.in_(numbers)))
        }
        for no, issued, lab, digest in s.execute(
            select(m.Report.report_no, m.Report.issued, m.Report.lab_cpsc_id, m.Report.digest)
            .where(m.Report.report_no.in_(numbers))
            .order_by(m.Report.id)
        ):
            out.setdefault(no, v.Pin(no, issued, lab, digest, "lab report on file"))
        wanted = set(numbers)
        for docs in s.scalars(select(pm.Submission.reports).order_by(pm.Submission.id)):
            for doc in docs or []:
                if not (isinstance(doc, dict) and doc.get("report_no") in wanted):
                    continue
                try:
                    pin = v.Pin(
                        doc["report_no"],
                        date.fromisoformat(doc["issued"]),
                        str(doc.get("cpsc_lab_id") or doc["lab"]["cpsc_id"]),
                        "",
                        "report submitted to the program",
                    )
                except (KeyError, TypeError, ValueError):
                    continue
                out.setdefault(pin.report_no, pin)
        return out

    def _registry(self, s: Session) -> LabRegistry:
        from toysafe.store.repos.labs import registry_of

        return registry_of(s)

    # --- filing -------------------------------------------------------------------------------

    def add(
        self, raw: bytes, source: str, as_of: date, *, uploader_tic: str | None = None
    ) -> Filing:
        """File a signed validation. Bad input raises InputError (nothing stored); a refusal
        (signature, key, TIC, revision rules) is returned with nothing stored; otherwise the
        validation is on file for its listings, with its findings, and fed to their requests."""
        data = parse_bytes(raw, source)
        doc = validation_from_data(data, source)
        problems = v.input_problems(doc, as_of, source)
        if problems:
            raise InputError("; ".join(str(p) for p in problems), problems)
        kb = default_kb()
        with self.store.transaction() as s:
            version, policy = current_policy(s)
            if uploader_tic is not None and uploader_tic != doc.tic:
                refusal = v.Refusal("wrong_tic", {"tic": doc.tic, "uploader": uploader_tic})
                out = v.Outcome(doc.trf, doc.revision, doc.tic, v.content_hash(data), refusal)
                return Filing(out, version)
            rows, categories = self._listings(s, doc, source, policy)
            ctx = v.Context(
                assess(doc.profile, kb, as_of),
                self._registry(s),
                min(c.max_report_age_days for c in categories),
            )
            numbers = [r.report_no for r in doc.reports]
            outcome = v.evaluate(
                data,
                doc,
                policy.approved_tics,
                ctx,
                self._on_file(s, rows),
                self._pins(s, numbers),
            )
            filing = Filing(outcome, version)
            if outcome.refused or outcome.unchanged:
                return filing
            self._write(s, data, doc, outcome, rows, version, as_of)
            filing.requests = self._feed_requests(s, doc, data, outcome, rows, policy, as_of)
            return filing

    def _write(
        self,
        s: Session,
        data: dict[str, Any],
        doc: v.Validation,
        outcome: v.Outcome,
        rows: dict[str, pm.ProgramListing],
        version: int,
        as_of: date,
    ) -> None:
        known = s.scalar(
            select(vm.ValidationFiling.id).where(
                vm.ValidationFiling.content_hash == outcome.content_hash
            )
        )
        if known is None:  # a document already filed for some of its listings is kept once
            s.add(
                vm.ValidationFiling(
                    trf=doc.trf,
                    revision=doc.revision,
                    tic=doc.tic,
                    seller=doc.seller,
                    issued=doc.issued,
                    content_hash=outcome.content_hash,
                    listing_ids=list(doc.listing_ids),
                    document=data,
                    findings=[f.to_dict() for f in outcome.findings],
                    counts=outcome.counts,
                    filed_on=as_of,
                    actor=self.actor,
                    policy_version=version,
                )
            )
        current = {
            r.listing_pk: r
            for r in s.scalars(
                select(pm.Validation).where(
                    pm.Validation.listing_pk.in_([r.id for r in rows.values()])
                )
            )
        }
        for lid, place in outcome.placements.items():
            listing = rows[lid]
            row = current.get(listing.id)
            if row is None:
                row = pm.Validation(listing_pk=listing.id)
                s.add(row)
            row.trf, row.tic, row.revision, row.issued = doc.trf, doc.tic, doc.revision, doc.issued
            row.document, row.added_on, row.actor = data, as_of, self.actor
            s.add(
                pm.ProgramEvent(
                    on=as_of,
                    actor=self.actor,
                    kind="validation.filed",
                    subject=lid,
                    policy_version=version,
                    detail={
                        "trf": doc.trf,
                        "revision": doc.revision,
                        "tic": doc.tic,
                        "placement": place,
                        "content_hash": outcome.content_hash,
                        "counts": outcome.counts,
                        "findings": [f.code for f in outcome.findings],
                    },
                )
            )
        pinned = set(
            s.scalars(
                select(vm.EvidencePin.report_no).where(
                    vm.EvidencePin.report_no.in_([r.report_no for r in doc.reports])
                )
            )
        )
        for pin in v.pins_of(doc, v.source(doc)):
            if pin.report_no not in pinned:
                s.add(
                    vm.EvidencePin(
                        report_no=pin.report_no,
                        issued=pin.issued,
                        cpsc_lab_id=pin.cpsc_lab_id,
                        content_hash=pin.content_hash,
                        source=pin.source,
                        pinned_on=as_of,
                    )
                )
        s.flush()

    def _feed_requests(
        self,
        s: Session,
        doc: v.Validation,
        data: dict[str, Any],
        outcome: v.Outcome,
        rows: dict[str, pm.ProgramListing],
        policy: Policy,
        as_of: date,
    ) -> list[dict[str, Any]]:
        """Each listing's open request in a direct-validation category takes the validation as
        its submission (P7); other requests are left as they are, and say why."""
        out: list[dict[str, Any]] = []
        for lid in outcome.placements:
            listing = rows[lid]
            req = s.scalar(
                select(pm.Request).where(
                    pm.Request.listing_pk == listing.id,
                    pm.Request.state.in_([str(x) for x in OPEN_STATES]),
                )
            )
            if req is None:
                out.append({"listing_id": lid, "request": None, "note": "no_open_request"})
                continue
            from toysafe.core.program.model import request_ref

            ref = request_ref(req.id)
            category = policy.categories.get(req.category)
            if category is None or category.evidence != "direct_validation":
                out.append({"listing_id": lid, "request": ref, "note": "documents_category"})
                continue
            if req.state not in FILED_STATES:
                out.append({"listing_id": lid, "request": ref, "note": f"request_{req.state}"})
                continue
            out.append(self._submit(s, req, listing, doc, data, outcome, as_of))
        return out

    def _submit(
        self,
        s: Session,
        req: pm.Request,
        listing: pm.ProgramListing,
        doc: v.Validation,
        data: dict[str, Any],
        outcome: v.Outcome,
        as_of: date,
    ) -> dict[str, Any]:
        """Hand the validation to the request (the casework of P7/P8)."""
        from toysafe.store.program.validation_casework import submit_validation

        return submit_validation(self, s, req, listing, doc, data, outcome, as_of)

    # --- P5: the TIC extension ----------------------------------------------------------------

    def extend(
        self, ref: str, tic: str, as_of: date, *, uploader_tic: str | None = None
    ) -> dict[str, Any]:
        from toysafe.core.program.model import parse_request_ref, request_ref

        if uploader_tic is not None and uploader_tic != tic:
            raise ValidationRefused(
                "wrong_tic", f"a lab user of TIC '{uploader_tic}' cannot act for TIC '{tic}'"
            )
        try:
            number = parse_request_ref(ref)
        except ValueError as e:
            raise InputError(f"REQUEST: {e}") from None
        with self.store.transaction() as s:
            version, policy = current_policy(s)
            req = s.scalar(select(pm.Request).where(pm.Request.id == number).with_for_update())
            if req is None:
                raise LookupError(f"REQUEST: no request {ref}")
            listing = s.get(pm.ProgramListing, req.listing_pk)
            assert listing is not None
            handling = s.scalars(
                select(pm.Validation.tic).where(pm.Validation.listing_pk == listing.id)
            ).all()
            already = s.get(vm.TicExtension, req.id) is not None
            days = policy.clocks.tic_extension_days
            got = v.extend(
                req.due,
                tic=tic,
                approved=[t.id for t in policy.approved_tics],
                handling=handling,
                already_extended=already or req.extended_days > 0,
                open_=req.state in [str(x) for x in OPEN_STATES],
                days=days,
            )
            if isinstance(got, str):
                raise ValidationRefused(got, _EXTENSION_WORDS[got].format(tic=tic, ref=ref))
            s.add(
                vm.TicExtension(
                    request_id=req.id,
                    tic=tic,
                    granted_on=as_of,
                    days=days,
                    due_before=got.due,
                    due_after=got.new_due,
                    actor=self.actor,
                )
            )
            req.due = got.new_due
            req.extended_days = req.extended_days + days
            s.add(
                pm.RequestHistory(
                    request_id=req.id,
                    on=as_of,
                    event="extended",
                    from_state=req.state,
                    to_state=req.state,
                    ref=tic,
                    actor=self.actor,
                    detail={
                        "tic": tic,
                        "days": days,
                        "due_before": got.due.isoformat(),
                        "due_after": got.new_due.isoformat(),
                        "rule": "P5 clocks.tic_extension_days",
                    },
                )
            )
            s.add(
                pm.ProgramEvent(
                    on=as_of,
                    actor=self.actor,
                    kind="request.extended",
                    subject=request_ref(req.id),
                    policy_version=version,
                    detail={"tic": tic, "days": days, "due": got.new_due.isoformat()},
                )
            )
            return {
                "format": "toysafe/extension@1",
                "request": request_ref(req.id),
                "listing_id": listing.listing_id,
                "tic": tic,
                "days": days,
                "due_before": got.due.isoformat(),
                "due": got.new_due.isoformat(),
                "policy_version": version,
            }


_EXTENSION_WORDS = {
    "closed": "request {ref} is closed: there is nothing to extend",
    "tic_not_approved": "TIC '{tic}' is not in the policy's approved_tics",
    "not_handling": "TIC '{tic}' is not handling request {ref}: no validation of it is on file "
    "for the request's listing",
    "already_extended": "request {ref} has had its one TIC extension (P5)",
}

__all__ = ["Filing", "ValidationRefused", "Validations", "current_policy", "refusal_text"]

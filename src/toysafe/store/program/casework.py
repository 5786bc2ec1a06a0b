"""The program's casework in the store: submissions and their pre-check (P7), reviewers'
decisions (P8, P9), appeals (P11), seller signing keys. Each public method is one transaction
that writes the pure core's transition whole: state-change rows, decision, actions with their
statement of reasons (P13), violations, exemptions, an outbox row for the seller and events."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from toysafe.core.certificates import seal
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import LabRegistry
from toysafe.core.evidence.verify import report_problems
from toysafe.core.law.profile import Profile
from toysafe.core.program import decisions as d
from toysafe.core.program.model import appeal_ref, parse_appeal_ref, parse_request_ref, request_ref
from toysafe.core.program.policy import Category, Policy
from toysafe.core.program.precheck import Finding, ListingFacts, precheck, report_digest
from toysafe.io.errors import InputError
from toysafe.io.kb import default_kb
from toysafe.io.keys import trusted_public_key
from toysafe.render.program import finding_dict, reasons_dict
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm

APPEAL_FORMAT = "toysafe/appeal@1"
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
PRECHECK_ACTOR = "toysafe pre-check"


class NotFound(InputError):
    """A request or appeal that does not exist (or that the caller may not see: 404)."""


@dataclass(frozen=True)
class Loaded:
    request: pm.Request
    listing: pm.ProgramListing
    seller: str
    policy: Policy
    category: Category


@dataclass(frozen=True)
class EvidenceFile:
    name: str
    content: bytes

    def to_dict(self) -> dict[str, Any]:
        import hashlib

        return {
            "name": self.name,
            "sha256": hashlib.sha256(self.content).hexdigest(),
            "bytes": len(self.content),
            "content_base64": base64.b64encode(self.content).decode(),
        }


def parse_public_key(text: str) -> Ed25519PublicKey:
    """``ed25519:BASE64`` (32 raw bytes), or a PEM public key (text, or a file holding it)."""
    raw = text.strip()
    if raw.startswith("ed25519:"):
        try:
            key_bytes = base64.b64decode(raw.removeprefix("ed25519:"), validate=True)
            return Ed25519PublicKey.from_public_bytes(key_bytes)
        except ValueError:
            raise InputError(
                "PUBLIC_KEY: 'ed25519:' must be followed by the base64 of 32 bytes"
            ) from None
    data: bytes
    if raw.startswith("-----BEGIN"):
        data = raw.encode()
    else:
        path = Path(raw)
        try:
            data = path.read_bytes()
        except OSError:
            raise InputError(
                f"PUBLIC_KEY: '{text}' is neither ed25519:BASE64, a PEM key nor a readable file"
            ) from None
    try:
        loaded: Any = serialization.load_pem_public_key(data)
    except ValueError:
        raise InputError("PUBLIC_KEY: not a PEM public key") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise InputError("PUBLIC_KEY: not an Ed25519 key")
    return loaded


def key_text(key: Ed25519PublicKey) -> str:
    return "ed25519:" + base64.b64encode(seal.public_key_bytes(key)).decode()


_UNREAD = object()


class Casework:
    def __init__(self, store: Store, workspace: Path | None, actor: str) -> None:
        self.store = store
        self.workspace = workspace
        self.actor = actor
        self._own: object = _UNREAD

    # --- loading ------------------------------------------------------------------------------

    def _load(self, s: Session, ref: str, lock: bool = False) -> Loaded:
        try:
            number = parse_request_ref(ref)
        except ValueError as e:
            raise InputError(f"REQUEST: {e}") from None
        query = select(pm.Request).where(pm.Request.id == number)
        if lock:
            query = query.with_for_update()
        req = s.scalar(query)
        if req is None:
            raise NotFound(f"REQUEST: no request {ref}")
        listing = s.get(pm.ProgramListing, req.listing_pk)
        assert listing is not None
        seller = s.scalar(select(m.Organization.slug).where(m.Organization.id == req.seller_org_id))
        doc = s.scalar(
            select(pm.PolicyVersion.document).where(pm.PolicyVersion.version == req.policy_version)
        )
        policy = Policy.model_validate(doc)
        category = policy.categories.get(req.category)
        if category is None:  # the request was opened under a category its policy names
            raise InputError(f"request {ref}: policy {req.policy_version} has no '{req.category}'")
        return Loaded(req, listing, str(seller), policy, category)

    def seller_of(self, ref: str) -> tuple[int, str]:
        """(seller organization id, its policy's marketplace) of a request, for access checks."""
        with self.store.reader() as s:
            got = self._load(s, ref)
            return got.request.seller_org_id, got.policy.marketplace

    def appeal_request(self, apl: str) -> str:
        with self.store.reader() as s:
            row = self._appeal_row(s, apl)
            return request_ref(row.request_id)

    def _snapshot(self, s: Session, got: Loaded) -> d.RequestSnapshot:
        req, listing = got.request, got.listing
        kinds = s.scalars(
            select(pm.RequestTrigger.kind)
            .where(pm.RequestTrigger.request_id == req.id)
            .order_by(pm.RequestTrigger.id)
        )
        return d.RequestSnapshot(
            id=request_ref(req.id),
            seller=got.seller,
            listing_id=listing.listing_id,
            state=req.state,  # type: ignore[arg-type]
            opened=req.opened,
            due=req.due,
            policy_version=req.policy_version,
            triggers=tuple(dict.fromkeys(kinds)),
            listing_state=listing.state,  # type: ignore[arg-type]
            approved_before=listing.last_approved_on is not None,
        )

    def _registry(self, s: Session) -> LabRegistry | None:
        from toysafe.store.repos.labs import registry_of

        if s.scalar(select(func.count()).select_from(m.Lab)) == 0:
            return None
        return registry_of(s)

    def _own_key(self) -> Ed25519PublicKey | None:
        """The workspace's own public key, read once per Casework (settings and a key file)."""
        if self._own is _UNREAD:
            self._own = trusted_public_key(self.workspace)
        return cast("Ed25519PublicKey | None", self._own)

    def _trusted_keys(self, s: Session, seller_org_id: int) -> set[str]:
        keys = {
            seal.key_id(parse_public_key(text))
            for text in s.scalars(
                select(pm.SellerKey.public_key).where(pm.SellerKey.seller_org_id == seller_org_id)
            )
        }
        own = self._own_key()
        if own is not None:
            keys.add(seal.key_id(own))
        return keys

    def _on_file(self, s: Session, numbers: Sequence[str], seller_org_id: int) -> dict[str, str]:
        """Digests of reports already on file under these numbers (any organization's catalog,
        and what this seller submitted before)."""
        out: dict[str, str] = {}
        for doc in s.scalars(select(m.Report.document).where(m.Report.report_no.in_(numbers))):
            r = LabReport.model_validate(doc)
            out.setdefault(r.report_no, report_digest(r))
        wanted = set(numbers)
        for docs in s.scalars(
            select(pm.Submission.reports)
            .join(pm.Request, pm.Request.id == pm.Submission.request_id)
            .where(pm.Request.seller_org_id == seller_org_id)
            .order_by(pm.Submission.id)
        ):
            for doc in docs or []:
                if isinstance(doc, dict) and doc.get("report_no") in wanted:
                    r = LabReport.model_validate(doc)
                    out.setdefault(r.report_no, report_digest(r))
        return out

    # --- writing a transition -----------------------------------------------------------------

    def _hold_after_precheck(
        self,
        s: Session,
        got: Loaded,
        submission_id: int,
        why: Any,
        as_of: date,
        state: str,
        codes: Sequence[str],
        shown: list[dict[str, Any]],
        **history: Any,
    ) -> dict[str, Any]:
        """A pre-check that did not approve (``revision_requested``, or ``in_review`` for a
        person): the state change, the automatic ``revise`` decision with the first finding's
        code, the seller's notice and the event. Shared by submissions and TIC validations."""
        req, ref = got.request, request_ref(got.request.id)
        reasons = reasons_dict(why, self._appeal_how(ref))
        req.state = state
        self._history(s, req, as_of, "pre_check", "submitted", state, PRECHECK_ACTOR, **history)
        if state == "revision_requested":
            s.add(
                pm.DecisionRow(
                    request_id=req.id,
                    seller_org_id=req.seller_org_id,
                    submission_id=submission_id,
                    decided_on=as_of,
                    decision="revise",
                    reason_code=codes[0],
                    policy_version=req.policy_version,
                    actor=PRECHECK_ACTOR,
                    automatic=True,
                    reasons=reasons,
                )
            )
        payload = {
            "request": ref,
            "listing_id": got.listing.listing_id,
            "state": state,
            "findings": shown,
            "reasons": reasons,
        }
        self._notify(s, got, as_of, "decision", payload)
        self._event(s, as_of, "request.pre_check", ref, req.policy_version, **payload)
        return payload

    def _history(
        self,
        s: Session,
        req: pm.Request,
        on: date,
        event: str,
        from_state: str | None,
        to_state: str | None,
        actor: str,
        **detail: Any,
    ) -> None:
        s.add(
            pm.RequestHistory(
                request_id=req.id,
                on=on,
                event=event,
                from_state=from_state,
                to_state=to_state,
                ref=None,
                actor=actor,
                detail=detail,
            )
        )

    def _notify(
        self, s: Session, got: Loaded, on: date, kind: str, payload: dict[str, Any]
    ) -> None:
        s.add(
            pm.Outbox(
                key=f"{kind}:{request_ref(got.request.id)}:{uuid.uuid4().hex}",
                seller_org_id=got.request.seller_org_id,
                created_on=on,
                kind=kind,
                request_id=got.request.id,
                listing_pk=got.listing.id,
                payload=payload,
            )
        )

    def _event(
        self, s: Session, on: date, kind: str, subject: str, version: int, **detail: Any
    ) -> None:
        s.add(
            pm.ProgramEvent(
                on=on,
                actor=self.actor,
                kind=kind,
                subject=subject,
                policy_version=version,
                detail=detail,
            )
        )

    def _apply(
        self,
        s: Session,
        got: Loaded,
        t: d.Transition,
        as_of: date,
        actor: str,
        *,
        automatic: bool = False,
        submission_id: int | None = None,
        record_decision: bool = True,
        appeal_id: int | None = None,
    ) -> dict[str, Any]:
        req, listing = got.request, got.listing
        ref = request_ref(req.id)
        reasons = reasons_dict(t.reasons, self._appeal_how(ref))
        before = req.state
        req.state = t.request_state
        req.closed_on = as_of if t.closed else None
        self._history(
            s,
            req,
            as_of,
            "appeal_decided" if appeal_id is not None else "decided",
            before,
            t.request_state,
            actor,
            decision=t.decision,
            reason=t.reason,
        )
        if record_decision:
            s.add(
                pm.DecisionRow(
                    request_id=req.id,
                    seller_org_id=req.seller_org_id,
                    submission_id=submission_id,
                    decided_on=as_of,
                    decision=t.decision,
                    reason_code=t.reason,
                    policy_version=req.policy_version,
                    actor=actor,
                    automatic=automatic,
                    reasons=reasons,
                )
            )
        action: dict[str, Any] | None = None
        if t.listing_state is not None and t.listing_state != listing.state:
            prior = listing.state
            listing.state = t.listing_state
            listing.state_since = as_of
            s.add(
                pm.ActionRow(
                    key=f"{t.decision}:{ref}:{uuid.uuid4().hex}",
                    seller_org_id=req.seller_org_id,
                    listing_pk=listing.id,
                    request_id=req.id,
                    action=t.listing_action or t.listing_state,
                    on=as_of,
                    prior_state=prior,
                    policy_version=req.policy_version,
                    actor=actor,
                    reasons=reasons,
                )
            )
            action = {"listing_id": listing.listing_id, "action": t.listing_action, "from": prior}
        if t.valid_until is not None:
            listing.valid_until = t.valid_until
            listing.last_approved_on = as_of
        if t.violation is not None:
            s.add(
                pm.ViolationRow(
                    seller_org_id=req.seller_org_id,
                    listing_pk=listing.id,
                    request_id=req.id,
                    kind=t.violation.kind,
                    severity=t.violation.severity,
                    opened=as_of,
                    policy_version=req.policy_version,
                )
            )
        if t.resolve_violations or t.remove_violations:
            s.execute(
                update(pm.ViolationRow)
                .where(pm.ViolationRow.request_id == req.id, pm.ViolationRow.resolved.is_(None))
                .values(
                    resolved=as_of,
                    resolution="approved" if t.resolve_violations else "overturned",
                )
            )
        if t.exemption is not None:
            for kind in t.exemption.trigger_kinds:
                s.add(
                    pm.Exemption(
                        listing_pk=listing.id,
                        trigger_kind=kind,
                        starts=as_of,
                        until=t.exemption.until,
                        appeal_id=appeal_id,
                        reason=t.exemption.reason,
                        actor=actor,
                    )
                )
        payload = {
            "request": ref,
            "listing_id": listing.listing_id,
            "decision": t.decision,
            "reason": t.reason,
            "state": t.request_state,
            "reasons": reasons,
        }
        self._notify(s, got, as_of, "decision", payload)
        if action is not None:
            self._notify(s, got, as_of, "action", {**payload, **action})
        self._event(s, as_of, f"request.{t.decision}", ref, req.policy_version, **payload)
        if t.violation is not None or t.resolve_violations or t.remove_violations:
            s.flush()
            self._refresh_health(s, req.seller_org_id, got.policy, as_of)
        return {**payload, "action": action}

    def _refresh_health(self, s: Session, seller_org_id: int, policy: Policy, as_of: date) -> None:
        """P10 and P12 at once (a critical violation suspends now, not at the next sweep)."""
        from toysafe.store.program.sweep import refresh_accounts

        refresh_accounts(s, as_of, self.actor, seller_org_id)

    @staticmethod
    def _appeal_how(ref: str) -> str:
        return (
            f"toysafe program appeal {ref} --claim not_applicable|decision_wrong --root-cause "
            f"TEXT --fix TEXT --prevention TEXT, or POST /api/v1/program/requests/{ref}/appeal"
        )

    # --- P7 submission ------------------------------------------------------------------------

    def submit(
        self,
        ref: str,
        profile: Profile,
        certificate: dict[str, Any],
        reports: Sequence[tuple[str, LabReport]],
        as_of: date,
    ) -> dict[str, Any]:
        kb = default_kb()
        problems = report_problems(list(reports), kb, as_of)
        if problems:
            raise InputError("; ".join(str(p) for p in problems))
        if (
            not isinstance(certificate, dict)
            or certificate.get("format") != "toysafe/certificate@1"
        ):
            raise InputError("certificate: not a toysafe/certificate@1 document")
        with self.store.transaction() as s:
            got = self._load(s, ref, lock=True)
            req, listing = got.request, got.listing
            if got.category.evidence == "direct_validation":
                raise d.Refusal(
                    "direct_validation_only",
                    f"request {ref}: category '{req.category}' takes only an approved TIC's "
                    f"validation; documents from the seller do not count",
                )
            if req.state not in ("open", "revision_requested"):
                raise d.Refusal(
                    "not_awaiting_submission",
                    f"request {ref} is {req.state}: it is not waiting for a submission",
                )
            labs = self._registry(s)
            parsed = [r for _, r in reports]
            pc = precheck(
                required=list(req.requirements or []),
                profile=profile,
                certificate=certificate,
                reports=parsed,
                listing=ListingFacts(
                    listing.listing_id,
                    got.seller,
                    listing.min_age_months,
                    listing.cautionary_statement,
                    listing.model,
                ),
                kb=kb,
                as_of=as_of,
                max_report_age_days=got.category.max_report_age_days,
                registry=labs,
                trusted_keys=self._trusted_keys(s, req.seller_org_id),
                on_file=self._on_file(s, [r.report_no for r in parsed], req.seller_org_id),
            )
            state = pc.outcome(got.category.auto_approve)
            sub = pm.Submission(
                request_id=req.id,
                submitted_on=as_of,
                channel="documents",
                actor=self.actor,
                profile=profile.to_data(),  # toysafe/product@1: reads back as a Profile
                certificate=certificate,
                reports=[
                    r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in parsed
                ],
                validation=None,
                outcome=state,
            )
            s.add(sub)
            s.flush()
            self._history(s, req, as_of, "submitted", req.state, "submitted", self.actor)
            req.state = "submitted"
            findings = [finding_dict(f) for f in pc.findings]
            for f, shown in zip(pc.findings, findings, strict=True):
                s.add(_finding_row(req.id, sub.id, f, shown["next_step"], as_of))
            relied = [[n, i.isoformat()] for n, i in pc.relied_on]
            snap = self._snapshot(s, got)
            window = got.policy.clocks.appeal_window_days
            result: dict[str, Any]
            if state == "approved":
                t = d.approve(
                    snap,
                    [i for _, i in pc.relied_on],
                    as_of,
                    got.category.validity_months,
                    window,
                    "pre_check_clean",
                )
                self._history(
                    s,
                    req,
                    as_of,
                    "pre_check",
                    "submitted",
                    "submitted",
                    PRECHECK_ACTOR,
                    outcome=state,
                    relied_on=relied,
                    findings=[],
                )
                result = self._apply(
                    s, got, t, as_of, PRECHECK_ACTOR, automatic=True, submission_id=sub.id
                )
            else:
                codes = [f.code for f in pc.findings]
                result = self._hold_after_precheck(
                    s,
                    got,
                    sub.id,
                    d.precheck_reasons(snap, state, codes, as_of, window),
                    as_of,
                    state,
                    codes,
                    findings,
                    outcome=state,
                    relied_on=relied,
                    findings=codes,
                )
            return {
                "request": ref,
                "submission": sub.id,
                "state": state,
                "pre_check": {**pc.to_dict(), "findings": findings, "outcome": state},
                "reasons": result.get("reasons"),
            }

    # --- P8/P9 decisions ----------------------------------------------------------------------

    def decide(self, ref: str, decision: str, reason: str, as_of: date) -> dict[str, Any]:
        with self.store.transaction() as s:
            got = self._load(s, ref, lock=True)
            snap = self._snapshot(s, got)
            relied = self._relied_on(s, got.request.id)
            try:
                t = d.decide(
                    snap,
                    decision,
                    reason,
                    as_of,
                    relied_on=relied,
                    validity_months=got.category.validity_months,
                    appeal_window_days=got.policy.clocks.appeal_window_days,
                )
            except ValueError as e:
                raise InputError(f"--{e}") from None
            sub_id = s.scalar(
                select(func.max(pm.Submission.id)).where(pm.Submission.request_id == got.request.id)
            )
            out = self._apply(s, got, t, as_of, self.actor, submission_id=sub_id)
            if t.decision == "revise":  # P8: the seller gets the reviewer's finding
                f = Finding(t.reason, None, {"decided_by": "reviewer"})  # type: ignore[arg-type]
                s.add(_finding_row(got.request.id, sub_id, f, finding_dict(f)["next_step"], as_of))
            return {"format": "toysafe/decision@1", **out}

    def _relied_on(self, s: Session, request_id: int) -> list[date]:
        details = s.scalars(
            select(pm.RequestHistory.detail)
            .where(
                pm.RequestHistory.request_id == request_id, pm.RequestHistory.event == "pre_check"
            )
            .order_by(pm.RequestHistory.id.desc())
            .limit(1)
        ).all()
        if details and details[0].get("relied_on"):
            return [date.fromisoformat(i) for _, i in details[0]["relied_on"]]
        return []

    # --- P11 appeals --------------------------------------------------------------------------

    def appeal(
        self,
        ref: str,
        claim: str,
        root_cause: str,
        fix: str,
        prevention: str,
        evidence: Sequence[EvidenceFile],
        as_of: date,
    ) -> dict[str, Any]:
        try:
            poa = d.plan_of_action(claim, root_cause, fix, prevention, [e.name for e in evidence])
        except d.PlanError as e:
            raise InputError.at(e.field, str(e.reason), option=True) from None
        for ev in evidence:
            if len(ev.content) > MAX_EVIDENCE_BYTES:
                detail = f"{ev.name} is over {MAX_EVIDENCE_BYTES} bytes"
                raise InputError.at("evidence", detail, option=True)
        with self.store.transaction() as s:
            got = self._load(s, ref, lock=True)
            req = got.request
            snap = self._snapshot(s, got)
            until = self._check_appeal(s, got, snap, as_of)
            row = pm.AppealRow(
                request_id=req.id,
                seller_org_id=req.seller_org_id,
                filed_on=as_of,
                claim=poa.claim,
                root_cause=poa.root_cause,
                fix=poa.fix,
                prevention=poa.prevention,
                evidence=[e.to_dict() for e in evidence],
                state="pending",
                policy_version=req.policy_version,
                actor=self.actor,
            )
            s.add(row)
            s.flush()
            self._history(
                s,
                req,
                as_of,
                "appealed",
                req.state,
                req.state,
                self.actor,
                appeal=appeal_ref(row.id),
                claim=poa.claim,
            )
            out = self._appeal_dict(row, ref, got, until)
            self._notify(s, got, as_of, "appeal_received", {"appeal": out["id"], "request": ref})
            self._event(s, as_of, "appeal.filed", out["id"], req.policy_version, request=ref)
            return out

    def _check_appeal(self, s: Session, got: Loaded, snap: d.RequestSnapshot, as_of: date) -> date:
        """The last day to appeal the request's last decision or action (Refusal when none)."""
        req = got.request
        pending = s.scalar(
            select(func.count())
            .select_from(pm.AppealRow)
            .where(pm.AppealRow.request_id == req.id, pm.AppealRow.state == "pending")
        )
        last = max(
            (
                x
                for x in (
                    s.scalar(
                        select(func.max(pm.DecisionRow.decided_on)).where(
                            pm.DecisionRow.request_id == req.id
                        )
                    ),
                    s.scalar(
                        select(func.max(pm.ActionRow.on)).where(pm.ActionRow.request_id == req.id)
                    ),
                )
                if x is not None
            ),
            default=None,
        )
        window = got.policy.clocks.appeal_window_days
        return d.check_appeal(snap, last, as_of, window, bool(pending))

    def appeal_window(self, ref: str, as_of: date) -> tuple[date | None, str | None]:
        """(last day to appeal, None), or (None, the refusal code) when no appeal may be filed
        on ``as_of``: the same check as :meth:`appeal`, without writing."""
        with self.store.reader() as s:
            got = self._load(s, ref)
            try:
                return self._check_appeal(s, got, self._snapshot(s, got), as_of), None
            except d.Refusal as e:
                return None, e.code

    def _appeal_row(self, s: Session, apl: str) -> pm.AppealRow:
        try:
            number = parse_appeal_ref(apl)
        except ValueError as e:
            raise InputError(f"APPEAL: {e}") from None
        row = s.get(pm.AppealRow, number)
        if row is None:
            raise NotFound(f"APPEAL: no appeal {apl}")
        return row

    @staticmethod
    def _appeal_dict(
        row: pm.AppealRow, ref: str, got: Loaded, until: date | None = None
    ) -> dict[str, Any]:
        return {
            "format": APPEAL_FORMAT,
            "id": appeal_ref(row.id),
            "request": ref,
            "seller": got.seller,
            "listing_id": got.listing.listing_id,
            "filed": row.filed_on.isoformat(),
            "claim": row.claim,
            "root_cause": row.root_cause,
            "fix": row.fix,
            "prevention": row.prevention,
            "evidence": [
                {k: v for k, v in e.items() if k != "content_base64"} for e in row.evidence or []
            ],
            "state": row.state,
            "window_until": until.isoformat() if until else None,
            "decided_on": row.decided_on.isoformat() if row.decided_on else None,
            "decided_by": row.decided_by,
            "decision_reason": row.decision_reason,
            "policy_version": row.policy_version,
        }

    def get_appeal(self, apl: str) -> dict[str, Any]:
        with self.store.reader() as s:
            row = self._appeal_row(s, apl)
            ref = request_ref(row.request_id)
            return self._appeal_dict(row, ref, self._load(s, ref))

    def decide_appeal(self, apl: str, overturn: bool, reason: str, as_of: date) -> dict[str, Any]:
        with self.store.transaction() as s:
            row = self._appeal_row(s, apl)
            ref = request_ref(row.request_id)
            got = self._load(s, ref, lock=True)
            if row.state != "pending":
                raise d.Refusal("appeal_decided", f"appeal {apl} was already {row.state}")
            snap = self._snapshot(s, got)
            try:
                t = d.decide_appeal(
                    snap,
                    row.claim,  # type: ignore[arg-type]
                    overturn,
                    reason,
                    as_of,
                    got.category.validity_months,
                    got.policy.clocks.appeal_window_days,
                )
            except ValueError as e:
                raise InputError(f"--{e}") from None
            row.state = "overturned" if overturn else "upheld"
            row.decided_on = as_of
            row.decided_by = self.actor
            row.decision_reason = reason.strip()
            applied = self._apply(
                s, got, t, as_of, self.actor, record_decision=False, appeal_id=row.id
            )
            return {**self._appeal_dict(row, ref, got), "outcome": applied}

    # --- seller keys (P7) -----------------------------------------------------------------------

    def add_key(self, seller: str, public_key: str, as_of: date) -> dict[str, Any]:
        key = parse_public_key(public_key)
        text = key_text(key)
        with self.store.transaction() as s:
            org_id = s.scalar(select(m.Organization.id).where(m.Organization.slug == seller))
            if org_id is None:
                raise InputError(f"SELLER: no organization '{seller}'")
            exists = s.scalar(
                select(pm.SellerKey.id).where(
                    pm.SellerKey.seller_org_id == org_id, pm.SellerKey.public_key == text
                )
            )
            if exists is None:
                s.add(
                    pm.SellerKey(
                        seller_org_id=org_id, public_key=text, added_on=as_of, actor=self.actor
                    )
                )
                s.add(
                    pm.ProgramEvent(
                        on=as_of,
                        actor=self.actor,
                        kind="seller_key.add",
                        subject=seller,
                        policy_version=None,
                        detail={"key_id": seal.key_id(key)},
                    )
                )
            return {
                "seller": seller,
                "key_id": seal.key_id(key),
                "public_key": text,
                "added": exists is None,
            }


def _finding_row(
    request_id: int, submission_id: int | None, f: Finding, next_step: str, on: date
) -> pm.Finding:
    return pm.Finding(
        request_id=request_id,
        submission_id=submission_id,
        code=f.code,
        requirement=f.requirement,
        facts=[[k, v] for k, v in f.facts.items()],
        next_step=next_step,
        found_on=on,
    )

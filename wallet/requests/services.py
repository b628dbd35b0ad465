"""Badge requests: a learner asks an organisation to recognise learning that already happened.

The lifecycle (docs/requests.md)::

    submitted ──approve──▶ approved (the credential is issued into the learner's wallet)
        │  ▲  ──reject───▶ rejected (with a reason)
        │  └─reply── more_info ◀──ask for more──┘
        └─withdraw (learner, while open) ──▶ withdrawn (the evidence is erased)

Who may do what: the learner acts on their own requests only; reviewers are the organisation's members
with the role the requestable badge names (any member, or admins only). Everyone else is answered
``badge_request.not_found`` — an outsider cannot even learn that a request exists. Every decision
records who made it (account and role) in the request and in its thread.

Every state a request reaches is written to the learner's synced wallet as the ``action_result`` of
the request's ``action_id`` (``badge.request``), so every device learns the outcome at its next sync;
an approved request's credential arrives through the normal delivery path
(:func:`wallet.issuing.delivery.deliver`).

Lock order (docs/claims.md): the learner's ``sync_wallets`` row first, then the request. Decisions move
``status`` with one conditional ``UPDATE … RETURNING``: two reviewers approving at once issue one
credential; the second hears ``badge_request.closed``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wallet_protocol.sync.ops import BADGE_REQUEST_LINKS, MAX_NARRATIVE_LENGTH, MAX_WITNESS_LENGTH, RequestBadge
from wallet_protocol.sync.state import has_control_characters

from wallet.changelog.changes import record_action_result
from wallet.changelog.history import lock_wallet_row
from wallet.errors import DomainError
from wallet.issuing.delivery import deliver
from wallet.models import (
    Account,
    Achievement,
    BadgeRequest,
    EvidenceFile,
    HeldCredential,
    IssuedCredential,
    Organisation,
    RequestableAchievement,
    RequestMessage,
    RequestStatus,
    Role,
)
from wallet.models.requests import OPEN_STATUSES
from wallet.organisations.services import ADMINS, ANY_MEMBER, require_role, role_of
from wallet.requests.evidence import MAX_FILES_PER_REQUEST, check_file

EVIDENCE_KINDS = ("narrative", "links", "files", "witness")
REVIEWER_ROLES = {"youth_worker": ANY_MEMBER, "admin": ADMINS}
MAX_GUIDANCE_LENGTH = 4000
MAX_MESSAGE_LENGTH = 4000
ACTION = RequestBadge.TYPE


# --- requestable badges (organisation admins) ------------------------------------------------------


def make_requestable(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    achievement_id: uuid.UUID,
    guidance: str,
    evidence_wanted: list[str],
    reviewer_role: str,
    now: dt.datetime,
) -> RequestableAchievement:
    """Let learners ask for ``achievement_id`` (admins); calling it again changes what is asked for."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    achievement = db.get(Achievement, achievement_id)
    if achievement is None or achievement.organisation_id != organisation.id:
        raise DomainError("achievement.not_found")
    if achievement.archived_at is not None:
        raise DomainError("request.conflict", "That achievement is archived and can no longer be awarded.")
    unknown = [kind for kind in evidence_wanted if kind not in EVIDENCE_KINDS]
    if unknown or reviewer_role not in REVIEWER_ROLES or len(guidance) > MAX_GUIDANCE_LENGTH:
        raise DomainError(
            "request.validation_failed",
            f"Evidence is some of {', '.join(EVIDENCE_KINDS)}; reviewers are youth_worker or admin.",
        )
    wanted = [kind for kind in EVIDENCE_KINDS if kind in evidence_wanted]
    row = db.get(RequestableAchievement, achievement.id)
    if row is None:
        row = RequestableAchievement(
            achievement_id=achievement.id, organisation_id=organisation.id, created_at=now, updated_at=now
        )
        db.add(row)
    row.guidance, row.evidence_wanted, row.reviewer_role, row.updated_at = guidance, wanted, reviewer_role, now
    db.flush()
    return row


def stop_requests(db: Session, *, slug: str, actor: uuid.UUID, achievement_id: uuid.UUID) -> None:
    """No new requests for ``achievement_id`` (admins); open ones can still be decided."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    db.execute(
        delete(RequestableAchievement).where(
            RequestableAchievement.achievement_id == achievement_id,
            RequestableAchievement.organisation_id == organisation.id,
        )
    )
    db.flush()


@dataclass(frozen=True)
class Requestable:
    achievement: Achievement
    organisation: Organisation
    policy: RequestableAchievement


def list_requestable(db: Session, *, organisation_id: uuid.UUID | None = None) -> list[Requestable]:
    """Badges a learner can ask for, across organisations (or in one), by organisation then name."""
    query = (
        select(RequestableAchievement, Achievement, Organisation)
        .join(Achievement, Achievement.id == RequestableAchievement.achievement_id)
        .join(Organisation, Organisation.id == RequestableAchievement.organisation_id)
        .where(Achievement.archived_at.is_(None))
        .order_by(Organisation.name, Achievement.name)
    )
    if organisation_id is not None:
        query = query.where(Organisation.id == organisation_id)
    return [Requestable(row[1], row[2], row[0]) for row in db.execute(query).all()]


def requestable(db: Session, *, achievement_id: uuid.UUID) -> Requestable:
    for item in list_requestable_by_id(db, achievement_id=achievement_id):
        return item
    raise DomainError("badge_request.not_requestable", "That badge cannot be requested.")


def list_requestable_by_id(db: Session, *, achievement_id: uuid.UUID) -> list[Requestable]:
    row = db.execute(
        select(RequestableAchievement, Achievement, Organisation)
        .join(Achievement, Achievement.id == RequestableAchievement.achievement_id)
        .join(Organisation, Organisation.id == RequestableAchievement.organisation_id)
        .where(RequestableAchievement.achievement_id == achievement_id, Achievement.archived_at.is_(None))
    ).first()
    return [] if row is None else [Requestable(row[1], row[2], row[0])]


# --- the learner's side ----------------------------------------------------------------------------


def _text(value: str, *, name: str, limit: int, multiline: bool) -> str:
    allowed = "\n\r\t" if multiline else ""
    cleaned = value.strip()
    if len(cleaned) > limit:
        raise DomainError("request.validation_failed", f"{name} has at most {limit} characters.")
    if has_control_characters("".join(ch for ch in cleaned if ch not in allowed)):
        raise DomainError("request.validation_failed", f"{name} must be printable text.")
    return cleaned


def check_links(links: list[str]) -> list[str]:
    """The learner's evidence links: at most a few absolute http(s) URLs, each at most 500 characters."""
    if len(links) > BADGE_REQUEST_LINKS:
        raise DomainError("request.validation_failed", f"At most {BADGE_REQUEST_LINKS} links.")
    checked: list[str] = []
    for link in links:
        url = link.strip()
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or len(url) > 500
            or any(ch.isspace() for ch in url)
            or has_control_characters(url)
        ):
            raise DomainError("request.validation_failed", "A link must be a whole web address (https://…).")
        if url not in checked:
            checked.append(url)
    return checked


def _message(
    db: Session, request: BadgeRequest, *, author: uuid.UUID | None, role: str, kind: str, body: str, now: dt.datetime
) -> RequestMessage:
    message = RequestMessage(
        request_id=request.id, author_account_id=author, author_role=role, kind=kind, body=body, created_at=now
    )
    db.add(message)
    return message


def outcome(db: Session, request: BadgeRequest) -> dict[str, Any]:
    """What every device is told about the request (its ``action_result``): its state, never its evidence."""
    result: dict[str, Any] = {
        "request_id": str(request.id),
        "achievement_id": str(request.achievement_id),
        "state": request.status.value,
    }
    if request.decision_reason and request.status in (RequestStatus.REJECTED, RequestStatus.MORE_INFO):
        result["reason"] = request.decision_reason[:500]
    if request.issued_credential_id is not None:
        held = db.scalar(
            select(HeldCredential.content_hash)
            .join(IssuedCredential, IssuedCredential.credential_id == HeldCredential.credential_id)
            .where(IssuedCredential.id == request.issued_credential_id, HeldCredential.account_id == request.account_id)
        )
        if held is not None:
            result["cred"] = held
    return result


def _announce(db: Session, request: BadgeRequest, *, now: dt.datetime) -> None:
    record_action_result(
        db,
        account_id=request.account_id,
        action_id=request.action_id,
        result={"action": ACTION, "status": "done", "result": outcome(db, request)},
        now=now,
    )


def submit_request(
    db: Session,
    *,
    account_id: uuid.UUID,
    achievement_id: uuid.UUID,
    narrative: str,
    links: list[str] | None = None,
    witness: str = "",
    action_id: str | None = None,
    now: dt.datetime,
    announce: bool = True,
) -> BadgeRequest:
    """Ask for ``achievement_id`` with what the learner did; files are attached with :func:`add_file`.

    ``action_id`` is the sync action's id when the request was written offline: the same id twice
    returns the first request. ``announce=False`` when the caller (the sync action) writes the
    outcome itself.
    """
    target = requestable(db, achievement_id=achievement_id)
    narrative = _text(narrative, name="What you did", limit=MAX_NARRATIVE_LENGTH, multiline=True)
    witness = _text(witness, name="The youth worker's name", limit=MAX_WITNESS_LENGTH, multiline=False)
    checked_links = check_links(links or [])
    if not narrative:
        raise DomainError(
            "request.validation_failed",
            "Say what you did.",
            errors={"narrative": ["Say what you did."]},
        )
    if announce:  # lock order: the wallet first (inside a sync the sync holds it already)
        lock_wallet_row(db, account_id=account_id, now=now)
    if action_id is not None:
        existing = db.scalar(
            select(BadgeRequest).where(BadgeRequest.account_id == account_id, BadgeRequest.action_id == action_id)
        )
        if existing is not None:
            return existing
    request = BadgeRequest(
        id=uuid.uuid4(),
        account_id=account_id,
        organisation_id=target.organisation.id,
        achievement_id=target.achievement.id,
        action_id=action_id or "",
        status=RequestStatus.SUBMITTED,
        narrative=narrative,
        links=[{"url": url} for url in checked_links],
        witness=witness,
        created_at=now,
        updated_at=now,
    )
    if not request.action_id:
        request.action_id = f"request-{request.id}"
    try:
        with db.begin_nested():
            db.add(request)
            db.flush()
    except IntegrityError as error:
        raise DomainError(
            "badge_request.already_open", "You already asked for this badge; answer or withdraw that request."
        ) from error
    _message(db, request, author=account_id, role="learner", kind="submitted", body="", now=now)
    db.flush()
    if announce:
        _announce(db, request, now=now)
    return request


def _own(db: Session, *, account_id: uuid.UUID, request_id: uuid.UUID) -> BadgeRequest:
    request = db.get(BadgeRequest, request_id)
    if request is None or request.account_id != account_id:
        raise DomainError("badge_request.not_found")
    return request


def _move(
    db: Session,
    request: BadgeRequest,
    *,
    to: RequestStatus,
    now: dt.datetime,
    from_statuses: tuple[RequestStatus, ...] = OPEN_STATUSES,
    **values: Any,
) -> None:
    """Move ``request`` to ``to`` if it is still in ``from_statuses`` (one conditional UPDATE), or 409."""
    lock_wallet_row(db, account_id=request.account_id, now=now)
    moved = db.execute(
        update(BadgeRequest)
        .where(BadgeRequest.id == request.id, BadgeRequest.status.in_(from_statuses))
        .values(status=to, updated_at=now, **values)
        .returning(BadgeRequest.id)
        .execution_options(synchronize_session=False)
    ).first()
    if moved is None:
        raise DomainError("badge_request.closed", "This request was already decided or withdrawn.")
    db.refresh(request)


def add_file(
    db: Session,
    *,
    account_id: uuid.UUID,
    request_id: uuid.UUID,
    data: bytes,
    filename: str | None,
    now: dt.datetime,
) -> EvidenceFile:
    """Attach a photo or document to an open request of the learner's (checked by :func:`check_file`)."""
    request = _own(db, account_id=account_id, request_id=request_id)
    if request.status not in OPEN_STATUSES:
        raise DomainError("badge_request.closed", "Files can only be added while the request is open.")
    checked = check_file(data, filename=filename)
    count = db.scalar(select(func.count()).select_from(EvidenceFile).where(EvidenceFile.request_id == request.id))
    if (count or 0) >= MAX_FILES_PER_REQUEST:
        raise DomainError("badge_request.too_many_files", f"A request holds at most {MAX_FILES_PER_REQUEST} files.")
    stored = EvidenceFile(
        request_id=request.id,
        account_id=account_id,
        filename=checked.filename,
        media_type=checked.media_type,
        size=len(checked.data),
        sha256=checked.sha256,
        data=checked.data,
        created_at=now,
    )
    db.add(stored)
    request.updated_at = now
    db.flush()
    return stored


def remove_file(db: Session, *, account_id: uuid.UUID, request_id: uuid.UUID, file_id: uuid.UUID) -> None:
    """Take a file off an open request (the learner)."""
    request = _own(db, account_id=account_id, request_id=request_id)
    if request.status not in OPEN_STATUSES:
        raise DomainError("badge_request.closed", "Files can only be removed while the request is open.")
    removed = db.execute(delete(EvidenceFile).where(EvidenceFile.id == file_id, EvidenceFile.request_id == request.id))
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise DomainError("badge_request.not_found", "No such file on this request.")
    db.flush()


def reply(db: Session, *, account_id: uuid.UUID, request_id: uuid.UUID, body: str, now: dt.datetime) -> BadgeRequest:
    """The learner answers in the request's thread; a request waiting for more goes back to the reviewers."""
    request = _own(db, account_id=account_id, request_id=request_id)
    text = _text(body, name="Your answer", limit=MAX_MESSAGE_LENGTH, multiline=True)
    if not text:
        raise DomainError("request.validation_failed", "Write an answer.", errors={"body": ["Write an answer."]})
    _move(db, request, to=RequestStatus.SUBMITTED, now=now)
    _message(db, request, author=account_id, role="learner", kind="reply", body=text, now=now)
    db.flush()
    _announce(db, request, now=now)
    return request


def withdraw(db: Session, *, account_id: uuid.UUID, request_id: uuid.UUID, now: dt.datetime) -> BadgeRequest:
    """The learner takes an open request back: its files, narrative, links and answers are erased.

    What stays is that a request was made and withdrawn, so the reviewers' list makes sense.
    """
    request = _own(db, account_id=account_id, request_id=request_id)
    _move(db, request, to=RequestStatus.WITHDRAWN, now=now, narrative="", links=[], witness="", decided_at=now)
    db.execute(delete(EvidenceFile).where(EvidenceFile.request_id == request.id))
    db.execute(
        update(RequestMessage)
        .where(RequestMessage.request_id == request.id, RequestMessage.author_role == "learner")
        .values(body="")
        .execution_options(synchronize_session=False)
    )
    _message(db, request, author=account_id, role="learner", kind="withdrawn", body="", now=now)
    db.flush()
    _announce(db, request, now=now)
    return request


@dataclass(frozen=True)
class RequestView:
    """One request as its learner or a reviewer sees it: the request, its badge, thread and files."""

    request: BadgeRequest
    achievement: Achievement
    organisation: Organisation
    learner: Account
    messages: list[tuple[RequestMessage, Account | None]]
    files: list[EvidenceFile]


def _view(db: Session, request: BadgeRequest) -> RequestView:
    achievement = db.get(Achievement, request.achievement_id)
    organisation = db.get(Organisation, request.organisation_id)
    learner = db.get(Account, request.account_id)
    assert achievement is not None and organisation is not None and learner is not None
    messages = db.execute(
        select(RequestMessage, Account)
        .outerjoin(Account, Account.id == RequestMessage.author_account_id)
        .where(RequestMessage.request_id == request.id)
        .order_by(RequestMessage.id)
    ).all()
    files = db.scalars(
        select(EvidenceFile).where(EvidenceFile.request_id == request.id).order_by(EvidenceFile.created_at)
    ).all()
    return RequestView(request, achievement, organisation, learner, [(m[0], m[1]) for m in messages], list(files))


def my_requests(db: Session, *, account_id: uuid.UUID) -> list[RequestView]:
    requests = db.scalars(
        select(BadgeRequest)
        .where(BadgeRequest.account_id == account_id)
        .order_by(BadgeRequest.created_at.desc(), BadgeRequest.id)
    ).all()
    return [_view(db, request) for request in requests]


def my_request(db: Session, *, account_id: uuid.UUID, request_id: uuid.UUID) -> RequestView:
    return _view(db, _own(db, account_id=account_id, request_id=request_id))


def my_file(db: Session, *, account_id: uuid.UUID, request_id: uuid.UUID, file_id: uuid.UUID) -> EvidenceFile:
    _own(db, account_id=account_id, request_id=request_id)
    stored = db.get(EvidenceFile, file_id)
    if stored is None or stored.request_id != request_id:
        raise DomainError("badge_request.not_found", "No such file on this request.")
    return stored


# --- the reviewers' side ---------------------------------------------------------------------------


def _reviewer_roles(db: Session, achievement_id: uuid.UUID) -> frozenset[Role]:
    policy = db.get(RequestableAchievement, achievement_id)
    return REVIEWER_ROLES.get(policy.reviewer_role, ADMINS) if policy is not None else ADMINS


def _for_review(db: Session, *, slug: str, actor: uuid.UUID, request_id: uuid.UUID) -> tuple[BadgeRequest, Role]:
    organisation = require_role(db, slug=slug, actor=actor, roles=ANY_MEMBER)
    request = db.get(BadgeRequest, request_id)
    if request is None or request.organisation_id != organisation.id:
        raise DomainError("badge_request.not_found")
    role = role_of(db, organisation_id=organisation.id, account_id=actor)
    if role not in _reviewer_roles(db, request.achievement_id):
        raise DomainError("badge_request.not_found")
    assert role is not None
    return request, role


def requests_to_review(
    db: Session, *, slug: str, actor: uuid.UUID, statuses: tuple[RequestStatus, ...] | None = None
) -> list[RequestView]:
    """The organisation's requests this reviewer may decide: open ones first, oldest first."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ANY_MEMBER)
    role = role_of(db, organisation_id=organisation.id, account_id=actor)
    query = select(BadgeRequest).where(BadgeRequest.organisation_id == organisation.id)
    if statuses:
        query = query.where(BadgeRequest.status.in_(statuses))
    rows = db.scalars(query.order_by(BadgeRequest.created_at, BadgeRequest.id)).all()
    visible = [row for row in rows if role in _reviewer_roles(db, row.achievement_id)]
    visible.sort(key=lambda row: row.status not in OPEN_STATUSES)
    return [_view(db, row) for row in visible]


def request_for_review(db: Session, *, slug: str, actor: uuid.UUID, request_id: uuid.UUID) -> RequestView:
    request, _role = _for_review(db, slug=slug, actor=actor, request_id=request_id)
    return _view(db, request)


def file_for_review(
    db: Session, *, slug: str, actor: uuid.UUID, request_id: uuid.UUID, file_id: uuid.UUID
) -> EvidenceFile:
    request, _role = _for_review(db, slug=slug, actor=actor, request_id=request_id)
    stored = db.get(EvidenceFile, file_id)
    if stored is None or stored.request_id != request.id:
        raise DomainError("badge_request.not_found", "No such file on this request.")
    return stored


def credential_evidence(request: BadgeRequest, files: list[EvidenceFile]) -> list[dict[str, Any]]:
    """The OB 3.0 ``evidence`` entries of the credential a request earns: the learner's narrative, the
    links they control, who saw it, and (without links: they stay private) how many files were reviewed."""
    evidence: list[dict[str, Any]] = []
    if request.narrative:
        evidence.append({"name": "What the learner did", "narrative": request.narrative})
    for link in request.links:
        evidence.append({"id": link["url"], "name": "Evidence shared by the learner"})
    if request.witness:
        evidence.append({"name": "Seen by", "description": f"{request.witness} saw this learning happen."})
    if files:
        photos = sum(1 for item in files if item.media_type.startswith("image/"))
        documents = len(files) - photos
        parts = [f"{photos} photo{'s' * (photos != 1)}"] if photos else []
        parts += [f"{documents} document{'s' * (documents != 1)}"] if documents else []
        evidence.append(
            {"name": "Files reviewed", "description": f"{' and '.join(parts)} reviewed by the issuer, kept private."}
        )
    return evidence


def approve(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    request_id: uuid.UUID,
    comment: str = "",
    kek: bytes,
    base_url: str,
    now: dt.datetime,
) -> BadgeRequest:
    """Issue the badge into the learner's wallet, with the request's evidence in the credential."""
    request, role = _for_review(db, slug=slug, actor=actor, request_id=request_id)
    text = _text(comment, name="Your note", limit=MAX_MESSAGE_LENGTH, multiline=True)
    _move(db, request, to=RequestStatus.APPROVED, now=now, decided_at=now, decided_by=actor, decided_by_role=role.value)
    files = list(db.scalars(select(EvidenceFile).where(EvidenceFile.request_id == request.id)))
    delivered = deliver(
        db,
        achievement_id=request.achievement_id,
        account_id=request.account_id,
        source="request",
        kek=kek,
        base_url=base_url,
        now=now,
        evidence=credential_evidence(request, files),
    )
    request.issued_credential_id = delivered.issued.id
    _message(db, request, author=actor, role=role.value, kind="approved", body=text, now=now)
    db.flush()
    _announce(db, request, now=now)
    return request


def reject(
    db: Session, *, slug: str, actor: uuid.UUID, request_id: uuid.UUID, reason: str, now: dt.datetime
) -> BadgeRequest:
    """Say no, and why (the learner sees the reason)."""
    request, role = _for_review(db, slug=slug, actor=actor, request_id=request_id)
    text = _text(reason, name="The reason", limit=MAX_MESSAGE_LENGTH, multiline=True)
    if not text:
        raise DomainError("request.validation_failed", "Give a reason.", errors={"reason": ["Give a reason."]})
    _move(
        db,
        request,
        to=RequestStatus.REJECTED,
        now=now,
        decided_at=now,
        decided_by=actor,
        decided_by_role=role.value,
        decision_reason=text,
    )
    _message(db, request, author=actor, role=role.value, kind="rejected", body=text, now=now)
    db.flush()
    _announce(db, request, now=now)
    return request


def ask_for_more(
    db: Session, *, slug: str, actor: uuid.UUID, request_id: uuid.UUID, question: str, now: dt.datetime
) -> BadgeRequest:
    """Ask the learner for more; they answer in the same thread (:func:`reply`)."""
    request, role = _for_review(db, slug=slug, actor=actor, request_id=request_id)
    text = _text(question, name="Your question", limit=MAX_MESSAGE_LENGTH, multiline=True)
    if not text:
        raise DomainError("request.validation_failed", "Say what you need.", errors={"question": ["Say what."]})
    _move(
        db,
        request,
        to=RequestStatus.MORE_INFO,
        now=now,
        decided_by=actor,
        decided_by_role=role.value,
        decision_reason=text,
    )
    _message(db, request, author=actor, role=role.value, kind="more_info", body=text, now=now)
    db.flush()
    _announce(db, request, now=now)
    return request


# --- export ----------------------------------------------------------------------------------------


def export_requests(db: Session, *, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """The learner's requests for the data export: everything they sent (files as base64) and every answer."""
    import base64

    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    exported = []
    for view in my_requests(db, account_id=account_id):
        request = view.request
        exported.append(
            {
                "id": str(request.id),
                "organisation": view.organisation.slug,
                "achievement": view.achievement.name,
                "status": request.status.value,
                "narrative": request.narrative,
                "links": [link["url"] for link in request.links],
                "witness": request.witness,
                "created_at": iso(request.created_at),
                "decided_at": iso(request.decided_at),
                "decision_reason": request.decision_reason,
                "thread": [
                    {
                        "from": message.author_role,
                        "kind": message.kind,
                        "body": message.body,
                        "at": iso(message.created_at),
                    }
                    for message, _author in view.messages
                ],
                "files": [
                    {
                        "filename": item.filename,
                        "media_type": item.media_type,
                        "sha256": item.sha256,
                        "data_base64": base64.b64encode(item.data).decode("ascii"),
                    }
                    for item in view.files
                ],
            }
        )
    return exported

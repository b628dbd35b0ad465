"""Badge request pages: the learner asks for a badge with evidence; the organisation's reviewers decide.

Learner (signed in): ``/wallet/requests`` (my requests), ``/wallet/requests/new`` (badges I can ask for)
and ``/wallet/requests/new?achievement=<id>`` (the form), ``/wallet/requests/<id>`` (the thread, answer,
add or remove files, withdraw). Reviewers (signed in, a member with the reviewer role):
``/console/orgs/<slug>/requests`` and ``/console/orgs/<slug>/requests/<id>`` (read the evidence;
approve, reject with a reason, or ask for more). Evidence files are served from under those same
pages, to the same people, never from a public address.

Server-rendered, no script, every form CSRF-protected; the rules are the services' (wallet.requests),
so a refusal here says in words what the API says with a code.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from wallet.errors import DomainError
from wallet.models import RequestStatus
from wallet.models.requests import OPEN_STATUSES
from wallet.organisations.services import ANY_MEMBER, require_role
from wallet.pages.console.common import known_organisation
from wallet.requests import evidence
from wallet.requests import services as requests
from wallet.web import context
from wallet.web.friendly import FRIENDLY
from wallet.web.session import check_csrf, login_required, signed_in_account
from wallet.web.uploads import max_body

learner = Blueprint("request_pages", __name__, template_folder="templates", url_prefix="/wallet/requests")
console = Blueprint("review_pages", __name__, template_folder="templates", url_prefix="/console/orgs/<slug>/requests")
console.before_request(known_organisation)  # an unknown or malformed slug is a 404 before the sign-in redirect

FILE_CSP = "default-src 'none'; sandbox"
MAX_FORM_BYTES = evidence.MAX_UPLOAD_BYTES
STATUS_WORDS = {
    RequestStatus.SUBMITTED: "Waiting for a reviewer",
    RequestStatus.MORE_INFO: "The reviewer asked for more",
    RequestStatus.APPROVED: "Approved — the badge is in your wallet",
    RequestStatus.REJECTED: "Not approved",
    RequestStatus.WITHDRAWN: "Withdrawn",
}
REVIEW_WORDS = {
    RequestStatus.SUBMITTED: "To review",
    RequestStatus.MORE_INFO: "Waiting for the learner",
    RequestStatus.APPROVED: "Approved",
    RequestStatus.REJECTED: "Rejected",
    RequestStatus.WITHDRAWN: "Withdrawn by the learner",
}
KIND_WORDS = {
    "submitted": "asked for this badge",
    "reply": "answered",
    "more_info": "asked for more",
    "approved": "approved",
    "rejected": "did not approve",
    "withdrawn": "withdrew the request",
}
EVIDENCE_WORDS = {
    "narrative": "what you did, in your own words",
    "links": "links to things you made or posted",
    "files": "photos or documents",
    "witness": "the name of a youth worker who saw it",
}
ERROR_WORDS = {
    "badge_request.not_requestable": "That badge can't be asked for (any more).",
    "badge_request.already_open": "You already asked for this badge. Answer or withdraw that request first.",
    "badge_request.closed": "This request was already decided or withdrawn.",
    "badge_request.too_many_files": f"A request holds at most {evidence.MAX_FILES_PER_REQUEST} files.",
}


def _words(error: DomainError) -> str:
    if error.code == "badge_request.invalid_evidence":
        return f"We couldn't take that file: {error.extra.get('reason', 'it is not a photo or document we accept')}."
    return ERROR_WORDS.get(error.code) or FRIENDLY.get(error.code) or error.detail


def _page(html: str, status: int = 200) -> Response:
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _message_page(title: str, text: str, status: int) -> Response:
    return _page(render_template("requests/message.html", title=title, text=text), status)


def _not_found() -> Response:
    return _message_page("Not found", "There is no such request here, or it isn't yours to see.", 404)


def _file_response(item: Any) -> Response:
    response = Response(item.data, mimetype=item.media_type)
    disposition = "inline" if item.media_type.startswith("image/") else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{item.filename}"'
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _me() -> uuid.UUID:
    account = signed_in_account()
    assert account is not None
    return account.id


def _uploads() -> list[FileStorage]:
    return [item for item in request.files.getlist("files") if item and item.filename]


def _attach(request_id: uuid.UUID, files: list[FileStorage]) -> None:
    for item in files:
        requests.add_file(
            context.db(),
            account_id=_me(),
            request_id=request_id,
            data=item.read(evidence.MAX_FILE_BYTES + 1),
            filename=item.filename,
            now=context.now(),
        )


def _template_words() -> dict[str, Any]:
    return {
        "status_words": STATUS_WORDS,
        "review_words": REVIEW_WORDS,
        "kind_words": KIND_WORDS,
        "evidence_words": EVIDENCE_WORDS,
        "open_statuses": OPEN_STATUSES,
        "max_files": evidence.MAX_FILES_PER_REQUEST,
    }


# --- the learner -----------------------------------------------------------------------------------


@learner.get("")
@login_required
def my_requests() -> Response:
    views = requests.my_requests(context.db(), account_id=_me())
    return _page(render_template("requests/mine.html", views=views, **_template_words()))


def _form(target: requests.Requestable, *, error: str | None = None, status: int = 200) -> Response:
    fields = {key: request.form.get(key, "") for key in ("narrative", "links", "witness")}
    return _page(
        render_template("requests/new.html", target=target, form=fields, error=error, **_template_words()), status
    )


@learner.route("/new", methods=["GET", "POST"])
@max_body(MAX_FORM_BYTES)
@login_required
def new_request() -> Response:
    db = context.db()
    raw = request.args.get("achievement", "")
    if not raw:
        return _page(render_template("requests/choose.html", items=requests.list_requestable(db)))
    try:
        target = requests.requestable(db, achievement_id=uuid.UUID(raw))
    except (ValueError, DomainError):
        return _message_page("Not available", "That badge can't be asked for. Pick one from the list.", 404)
    if request.method == "GET":
        return _form(target)
    check_csrf()
    files = _uploads()
    if len(files) > evidence.MAX_FILES_PER_REQUEST:
        return _form(target, error=ERROR_WORDS["badge_request.too_many_files"], status=409)
    try:
        created = requests.submit_request(
            db,
            account_id=_me(),
            achievement_id=target.achievement.id,
            narrative=request.form.get("narrative", ""),
            links=[line for line in request.form.get("links", "").splitlines() if line.strip()],
            witness=request.form.get("witness", ""),
            now=context.now(),
        )
        _attach(created.id, files)
    except DomainError as error:
        db.rollback()  # nothing is kept: not the request, not one of its files
        return _form(target, error=_words(error), status=error.status)
    db.commit()
    return redirect(url_for("request_pages.my_request", request_id=created.id), code=303)


def _mine(request_id: uuid.UUID, *, error: str | None = None, status: int = 200) -> Response:
    try:
        view = requests.my_request(context.db(), account_id=_me(), request_id=request_id)
    except DomainError:
        return _not_found()
    return _page(render_template("requests/request.html", view=view, error=error, **_template_words()), status)


@learner.get("/<uuid:request_id>")
@login_required
def my_request(request_id: uuid.UUID) -> Response:
    return _mine(request_id)


def _learner_action(request_id: uuid.UUID, action: Any) -> Response:
    check_csrf()
    db = context.db()
    try:
        action()
    except DomainError as error:
        db.rollback()
        if error.code == "badge_request.not_found":
            return _not_found()
        return _mine(request_id, error=_words(error), status=error.status)
    db.commit()
    return redirect(url_for("request_pages.my_request", request_id=request_id), code=303)


@learner.post("/<uuid:request_id>/reply")
@login_required
def reply(request_id: uuid.UUID) -> Response:
    return _learner_action(
        request_id,
        lambda: requests.reply(
            context.db(), account_id=_me(), request_id=request_id, body=request.form.get("body", ""), now=context.now()
        ),
    )


@learner.post("/<uuid:request_id>/files")
@max_body(MAX_FORM_BYTES)
@login_required
def add_files(request_id: uuid.UUID) -> Response:
    files = _uploads()
    if not files:
        check_csrf()
        return _mine(request_id, error="Choose a file to add.", status=422)
    return _learner_action(request_id, lambda: _attach(request_id, files))


@learner.post("/<uuid:request_id>/files/<uuid:file_id>/delete")
@login_required
def remove_file(request_id: uuid.UUID, file_id: uuid.UUID) -> Response:
    return _learner_action(
        request_id,
        lambda: requests.remove_file(context.db(), account_id=_me(), request_id=request_id, file_id=file_id),
    )


@learner.post("/<uuid:request_id>/withdraw")
@login_required
def withdraw(request_id: uuid.UUID) -> Response:
    return _learner_action(
        request_id, lambda: requests.withdraw(context.db(), account_id=_me(), request_id=request_id, now=context.now())
    )


@learner.get("/<uuid:request_id>/files/<uuid:file_id>")
@login_required
def my_file(request_id: uuid.UUID, file_id: uuid.UUID) -> Response:
    try:
        item = requests.my_file(context.db(), account_id=_me(), request_id=request_id, file_id=file_id)
    except DomainError:
        return _not_found()
    return _file_response(item)


# --- the reviewers -----------------------------------------------------------------------------------


def _organisation_name(slug: str) -> str:
    organisation = require_role(context.db(), slug=slug, actor=_me(), roles=ANY_MEMBER)
    return organisation.name


@console.get("")
@login_required
def review_list(slug: str) -> Response:
    raw = request.args.get("status", "")
    statuses = tuple(status for status in RequestStatus if status.value == raw) or None
    try:
        name = _organisation_name(slug)
        views = requests.requests_to_review(context.db(), slug=slug, actor=_me(), statuses=statuses)
    except DomainError:
        return _message_page("Not found", "There is no such organisation here, or you are not a member.", 404)
    return _page(
        render_template(
            "requests/review_list.html", slug=slug, organisation_name=name, views=views, shown=raw, **_template_words()
        )
    )


def _review(slug: str, request_id: uuid.UUID, *, error: str | None = None, status: int = 200) -> Response:
    try:
        view = requests.request_for_review(context.db(), slug=slug, actor=_me(), request_id=request_id)
    except DomainError:
        return _not_found()
    return _page(
        render_template("requests/review.html", slug=slug, view=view, error=error, **_template_words()), status
    )


@console.get("/<uuid:request_id>")
@login_required
def review(slug: str, request_id: uuid.UUID) -> Response:
    return _review(slug, request_id)


def _decide(slug: str, request_id: uuid.UUID, action: Any) -> Response:
    check_csrf()
    db = context.db()
    try:
        action()
    except DomainError as error:
        db.rollback()
        if error.code in ("badge_request.not_found", "organisation.not_found"):
            return _not_found()
        return _review(slug, request_id, error=_words(error), status=error.status)
    db.commit()
    return redirect(url_for("review_pages.review", slug=slug, request_id=request_id), code=303)


@console.post("/<uuid:request_id>/approve")
@login_required
def approve(slug: str, request_id: uuid.UUID) -> Response:
    state = context.state()
    return _decide(
        slug,
        request_id,
        lambda: requests.approve(
            context.db(),
            slug=slug,
            actor=_me(),
            request_id=request_id,
            comment=request.form.get("comment", ""),
            kek=state.secrets.key_encryption_key,
            base_url=state.settings.base_url,
            now=context.now(),
        ),
    )


@console.post("/<uuid:request_id>/reject")
@login_required
def reject(slug: str, request_id: uuid.UUID) -> Response:
    return _decide(
        slug,
        request_id,
        lambda: requests.reject(
            context.db(),
            slug=slug,
            actor=_me(),
            request_id=request_id,
            reason=request.form.get("reason", ""),
            now=context.now(),
        ),
    )


@console.post("/<uuid:request_id>/ask")
@login_required
def ask(slug: str, request_id: uuid.UUID) -> Response:
    return _decide(
        slug,
        request_id,
        lambda: requests.ask_for_more(
            context.db(),
            slug=slug,
            actor=_me(),
            request_id=request_id,
            question=request.form.get("question", ""),
            now=context.now(),
        ),
    )


@console.get("/<uuid:request_id>/files/<uuid:file_id>")
@login_required
def review_file(slug: str, request_id: uuid.UUID, file_id: uuid.UUID) -> Response:
    try:
        item = requests.file_for_review(context.db(), slug=slug, actor=_me(), request_id=request_id, file_id=file_id)
    except DomainError:
        return _not_found()
    return _file_response(item)


@learner.errorhandler(413)
@console.errorhandler(413)
def _too_large(_error: Exception) -> Response:
    return _message_page(
        "That is too big", f"Files can be at most {evidence.MAX_FILE_BYTES // (1024 * 1024)} MB altogether.", 413
    )

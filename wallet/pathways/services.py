"""Learning pathways: co-designed by organisations, published as OB 3.0 Achievements with CLR 2.0
associations, followed by learners, and completed with an outcome badge awarded exactly once.

Who may do what: an organisation's admins create pathways (their organisation owns them and signs the
outcome badge, which must be one of its achievements); admins of a partner organisation named in
``partners`` may edit the steps too; anyone may read a pathway (it is public, like an achievement);
a learner reads their own progress only.

Progress is the one rule in :mod:`wallet_protocol.pathways`, computed over the credentials the learner
holds (imported ones count when their achievement or alignment matches) — the phone computes the same
from its replica and the same public definitions.

**Exactly once** (docs/pathways.md): the outcome is awarded from :func:`award_completed_pathways`, which
:func:`wallet.issuing.delivery.deliver` calls after every credential it puts in a wallet. Every delivery
runs with the learner's wallet row locked (the first lock of the lock order), so two claims completing a
pathway at the same instant, at two organisations, are judged one after the other, and the second sees
the first's credential and award; the unique ``(pathway_id, account_id)`` of ``pathway_awards`` is the
guard that holds even if a path forgot the lock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wallet_protocol.pathways import (
    BadgeIndex,
    HeldBadge,
    InvalidPathway,
    PathwayProgress,
    PathwayRule,
    StepProgress,
    counts,
    pathway_rule,
    progress,
    wallet_badges,
)

from wallet.changelog.history import lock_wallet_row
from wallet.errors import DomainError
from wallet.holding.binding import PROVEN as PROVEN_BINDINGS
from wallet.holding.registry import IssuerRegistry
from wallet.holding.trust import IssuerDirectory
from wallet.issuing.credentials import achievement_url, local_achievement_id
from wallet.models import (
    Achievement,
    BadgeRequest,
    ClaimSession,
    HeldCredential,
    Organisation,
    Pathway,
    PathwayAward,
    RequestableAchievement,
    SessionState,
)
from wallet.models.requests import OPEN_STATUSES
from wallet.organisations.services import ADMINS, get_by_slug, require_role
from wallet.skills.frameworks import accepted_skill_urls, get_framework, item_view

MAX_PARTNERS = 20
MAX_NAME = 120
MAX_DESCRIPTION = 4000
MAX_OUTCOME = 2000
MAX_AWARD_DEPTH = 3
TRUSTED_SOURCES = frozenset({"claim", "award"})
"""Credentials this service issued into the learner's own wallet."""


def pathway_url(base_url: str, pathway_id: uuid.UUID) -> str:
    return f"{base_url.rstrip('/')}/pathways/{pathway_id}"


def _invalid(field: str, message: str) -> DomainError:
    return DomainError("pathway.invalid", f"{field}: {message}", errors={field: [message]})


def _achievement_ref(db: Session, value: Any, *, base_url: str, where: str) -> tuple[str, str]:
    """(achievement URL, a name for it): an id of one of ours, or any https URL of an achievement elsewhere."""
    if not isinstance(value, str) or not value:
        raise _invalid(where, "name an achievement by its id or URL")
    try:
        achievement_id = uuid.UUID(value)
    except ValueError:
        achievement_id = None
    ours = base_url.rstrip("/") + "/achievements/"
    if achievement_id is None and value.startswith(ours):
        try:
            achievement_id = uuid.UUID(value[len(ours) :])
        except ValueError:
            raise _invalid(where, "no such achievement here") from None
    if achievement_id is not None:
        achievement = db.get(Achievement, achievement_id)
        if achievement is None:
            raise _invalid(where, "no such achievement here")
        return achievement_url(base_url, achievement.id), achievement.name
    if not value.startswith(("https://", "http://", "urn:", "did:")) or len(value) > 500:
        raise _invalid(where, "an achievement elsewhere is named by its URL")
    return value, ""


def normalise_steps(db: Session, steps: Any, *, base_url: str) -> list[dict[str, Any]]:
    """The stored (public) form of the steps the API was given; refuses what the rule cannot apply."""
    if not isinstance(steps, list) or not steps:
        raise _invalid("steps", "give at least one step")
    stored: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        if not isinstance(step, dict):
            raise _invalid(where, "must be an object")
        kind = step.get("kind")
        title = step.get("title") or ""
        if not isinstance(title, str) or len(title) > 200:
            raise _invalid(f"{where}.title", "at most 200 characters of text")
        if kind == "badge":
            url, name = _achievement_ref(db, step.get("achievement"), base_url=base_url, where=f"{where}.achievement")
            stored.append({"kind": "badge", "title": title or name, "achievements": [url], "names": [name]})
        elif kind == "any_of":
            refs = step.get("achievements")
            if not isinstance(refs, list) or not refs or len(refs) > 100:
                raise _invalid(f"{where}.achievements", "give from 1 to 100 achievements")
            pairs = [
                _achievement_ref(db, ref, base_url=base_url, where=f"{where}.achievements[{i}]")
                for i, ref in enumerate(refs)
            ]
            unique = list(dict.fromkeys(pairs))
            stored.append(
                {
                    "kind": "any_of",
                    "n": step.get("n"),
                    "title": title or f"Any {step.get('n')} of {len(unique)} badges",
                    "achievements": [url for url, _ in unique],
                    "names": [name for _, name in unique],
                }
            )
        elif kind == "skill":
            framework, item = step.get("framework"), step.get("item")
            version = step.get("version")
            if not isinstance(framework, str) or not isinstance(item, str):
                raise _invalid(where, "a skill step names a framework and an item")
            if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
                raise _invalid(f"{where}.version", "must be a whole number")
            try:
                found = get_framework(db, slug=framework)
                number = found.latest_version if version is None else version
                view = item_view(db, slug=framework, version=number, identifier=item)
            except DomainError as error:
                raise _invalid(where, error.detail) from error
            stored.append(
                {
                    "kind": "skill",
                    "title": title or view.item.statement[:200],
                    "framework": framework,
                    "version": number,
                    "item": item,
                    "skills": accepted_skill_urls(
                        db, base_url=base_url, slug=framework, version=number, identifier=item
                    ),
                }
            )
        else:
            raise _invalid(f"{where}.kind", "must be badge, any_of or skill")
    try:
        pathway_rule({"steps": stored})
    except InvalidPathway as refused:
        raise _invalid(refused.field, refused.message) from refused
    return stored


def check_words(*, name: Any = None, description: Any = None, outcome: Any = None) -> None:
    """The pathway's words, within the API schema's limits (every error at once, by field).

    ``None`` is "not given" (a partial update); the API's schema checks the same limits before this."""
    errors: dict[str, list[str]] = {}
    if name is not None and (not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME):
        errors["name"] = [f"give the pathway a name (at most {MAX_NAME} characters)"]
    if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
        errors["description"] = [f"at most {MAX_DESCRIPTION} characters"]
    if outcome is not None and (not isinstance(outcome, str) or len(outcome) > MAX_OUTCOME):
        errors["outcome"] = [f"at most {MAX_OUTCOME} characters"]
    if errors:
        raise DomainError(
            "pathway.invalid",
            "; ".join(f"{field}: {messages[0]}" for field, messages in errors.items()),
            errors=errors,
        )


def _partner_ids(db: Session, partners: Sequence[str], *, owner: Organisation) -> list[str]:
    if len(partners) > MAX_PARTNERS:
        raise _invalid("partners", f"at most {MAX_PARTNERS} partner organisations")
    ids = []
    for slug in dict.fromkeys(partners):
        try:
            organisation = get_by_slug(db, slug=slug)
        except DomainError:
            raise _invalid("partners", f"no organisation {slug!r}") from None
        if organisation.id != owner.id:
            ids.append(str(organisation.id))
    return ids


def _outcome_achievement(db: Session, value: uuid.UUID | None, *, owner: Organisation) -> uuid.UUID | None:
    if value is None:
        return None
    achievement = db.get(Achievement, value)
    if achievement is None or achievement.organisation_id != owner.id:
        raise _invalid("outcome_achievement_id", "the outcome badge must be one of the owner's achievements")
    return achievement.id


def create_pathway(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    name: str,
    description: str = "",
    outcome: str = "",
    outcome_achievement_id: uuid.UUID | None = None,
    auto_award: bool = False,
    ordered: bool = False,
    steps: list[dict[str, Any]],
    partners: Sequence[str] = (),
    base_url: str,
    now: dt.datetime,
) -> Pathway:
    """A new pathway owned by ``slug`` (its admins); ``partners`` are co-designing organisations' slugs."""
    owner = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    check_words(name=name, description=description, outcome=outcome)
    if auto_award and outcome_achievement_id is None:
        raise _invalid("auto_award", "an automatic award needs an outcome badge")
    pathway = Pathway(
        organisation_id=owner.id,
        name=name,
        description=description,
        outcome=outcome,
        outcome_achievement_id=_outcome_achievement(db, outcome_achievement_id, owner=owner),
        auto_award=auto_award,
        ordered=ordered,
        steps=normalise_steps(db, steps, base_url=base_url),
        partners=_partner_ids(db, partners, owner=owner),
        created_at=now,
        updated_at=now,
    )
    db.add(pathway)
    db.flush()
    _no_automatic_pathways.forget()
    return pathway


def _editable(db: Session, *, pathway_id: uuid.UUID, actor: uuid.UUID) -> tuple[Pathway, Organisation, bool]:
    """The pathway, its owner, and whether ``actor`` is an owner admin (else a partner's admin)."""
    pathway = db.get(Pathway, pathway_id)
    if pathway is None:
        raise DomainError("pathway.not_found")
    owner = db.get(Organisation, pathway.organisation_id)
    assert owner is not None
    from wallet.organisations.services import role_of

    if role_of(db, organisation_id=owner.id, account_id=actor) in ADMINS:
        return pathway, owner, True
    for partner in pathway.partners:
        if role_of(db, organisation_id=uuid.UUID(partner), account_id=actor) in ADMINS:
            return pathway, owner, False
    raise DomainError("auth.forbidden", "Only admins of the pathway's organisations may change it.")


def update_pathway(
    db: Session,
    *,
    pathway_id: uuid.UUID,
    actor: uuid.UUID,
    changes: dict[str, Any],
    base_url: str,
    now: dt.datetime,
) -> Pathway:
    """Change a pathway: partners' admins may change its words and steps; only the owner's admins its
    outcome badge, automatic award and partners (the owner signs the outcome)."""
    pathway, owner, is_owner = _editable(db, pathway_id=pathway_id, actor=actor)
    owner_only = {"outcome_achievement_id", "auto_award", "partners", "archived"}
    if not is_owner and owner_only & set(changes):
        raise DomainError(
            "auth.forbidden",
            "Only the owner's admins may change the outcome badge, the automatic award, the partners "
            "or archive the pathway.",
        )
    check_words(name=changes.get("name"), description=changes.get("description"), outcome=changes.get("outcome"))
    for field, value in changes.items():
        if field == "steps":
            pathway.steps = normalise_steps(db, value, base_url=base_url)
        elif field == "partners":
            pathway.partners = _partner_ids(db, value, owner=owner)
        elif field == "outcome_achievement_id":
            pathway.outcome_achievement_id = _outcome_achievement(db, value, owner=owner)
        elif field == "archived":
            pathway.archived_at = now if value else None
        elif field in ("name", "description", "outcome", "auto_award", "ordered"):
            setattr(pathway, field, value)
        else:
            raise ValueError(f"{field} is not editable")
    if pathway.auto_award and pathway.outcome_achievement_id is None:
        raise _invalid("auto_award", "an automatic award needs an outcome badge")
    pathway.updated_at = now
    db.flush()
    _no_automatic_pathways.forget()
    return pathway


def steps_as_given(pathway: Pathway) -> list[dict[str, Any]]:
    """The pathway's stored steps in the shape :func:`normalise_steps` takes (what the API is sent).

    Achievements are named by their URLs (ours are read back to their ids), skill steps keep their
    version, and each step keeps its title: saving them again changes nothing."""
    given: list[dict[str, Any]] = []
    for step in pathway.steps:
        title = step.get("title") or ""
        if step["kind"] == "badge":
            given.append({"kind": "badge", "title": title, "achievement": step["achievements"][0]})
        elif step["kind"] == "any_of":
            given.append({"kind": "any_of", "title": title, "n": step["n"], "achievements": list(step["achievements"])})
        else:
            given.append(
                {
                    "kind": "skill",
                    "title": title,
                    "framework": step["framework"],
                    "item": step["item"],
                    "version": step["version"],
                }
            )
    return given


def add_step(
    db: Session,
    *,
    pathway_id: uuid.UUID,
    actor: uuid.UUID,
    step: dict[str, Any],
    base_url: str,
    now: dt.datetime,
) -> Pathway:
    """Add one step (the API's step JSON) after the others; who may is :func:`update_pathway`'s rule."""
    pathway = get_pathway(db, pathway_id=pathway_id)
    steps = [*steps_as_given(pathway), step]
    return update_pathway(db, pathway_id=pathway_id, actor=actor, changes={"steps": steps}, base_url=base_url, now=now)


def _step_index(pathway: Pathway, index: int) -> int:
    if not 0 <= index < len(pathway.steps):
        raise _invalid("steps", f"the pathway has no step {index + 1}")
    return index


def remove_step(
    db: Session, *, pathway_id: uuid.UUID, actor: uuid.UUID, index: int, base_url: str, now: dt.datetime
) -> Pathway:
    """Remove step ``index`` (from 0); a pathway keeps at least one step."""
    pathway = get_pathway(db, pathway_id=pathway_id)
    steps = steps_as_given(pathway)
    del steps[_step_index(pathway, index)]
    return update_pathway(db, pathway_id=pathway_id, actor=actor, changes={"steps": steps}, base_url=base_url, now=now)


def move_step(
    db: Session, *, pathway_id: uuid.UUID, actor: uuid.UUID, index: int, up: bool, base_url: str, now: dt.datetime
) -> Pathway:
    """Swap step ``index`` with the one before it (``up``) or after it (the order of an ordered pathway)."""
    pathway = get_pathway(db, pathway_id=pathway_id)
    steps = steps_as_given(pathway)
    other = _step_index(pathway, index) + (-1 if up else 1)
    _step_index(pathway, other)
    steps[index], steps[other] = steps[other], steps[index]
    return update_pathway(db, pathway_id=pathway_id, actor=actor, changes={"steps": steps}, base_url=base_url, now=now)


def get_pathway(db: Session, *, pathway_id: uuid.UUID) -> Pathway:
    pathway = db.get(Pathway, pathway_id)
    if pathway is None:
        raise DomainError("pathway.not_found")
    return pathway


def list_pathways(db: Session, *, include_archived: bool = False) -> list[Pathway]:
    query = select(Pathway)
    if not include_archived:
        query = query.where(Pathway.archived_at.is_(None))
    return list(db.scalars(query.order_by(Pathway.name, Pathway.created_at)))


def rule_of(pathway: Pathway) -> PathwayRule:
    return pathway_rule({"id": str(pathway.id), "steps": pathway.steps, "ordered": pathway.ordered})


def public_definition(pathway: Pathway, *, base_url: str) -> dict[str, Any]:
    """What the phone needs to compute progress offline (and what the rule reads)."""
    return {
        "id": str(pathway.id),
        "url": pathway_url(base_url, pathway.id),
        "name": pathway.name,
        "ordered": pathway.ordered,
        "steps": pathway.steps,
    }


def pathway_document(db: Session, pathway: Pathway, *, base_url: str) -> dict[str, Any]:
    """The pathway as OB 3.0 ``Achievement`` objects with CLR 2.0 ``Association`` objects between them.

    The pathway is an Achievement of type ``LearningProgram``; each step's achievement ``isChildOf`` it
    (and it ``isParentOf`` each); in an ordered pathway each step's achievements ``precedes`` the next
    step's. Skill steps are the pathway's ``alignment`` entries.
    """
    owner = db.get(Organisation, pathway.organisation_id)
    url = pathway_url(base_url, pathway.id)
    criteria = "; ".join(
        f"{index + 1}. {step.get('title') or step['kind']}" for index, step in enumerate(pathway.steps)
    )
    alignments = []
    step_achievements: list[list[str]] = []
    for step in pathway.steps:
        if step["kind"] == "skill":
            alignments.append(
                {
                    "type": ["Alignment"],
                    "targetName": step.get("title") or step["item"],
                    "targetUrl": step["skills"][-1],
                    "targetCode": step["item"],
                    "targetFramework": step["framework"],
                    "targetType": "CFItem",
                }
            )
            step_achievements.append([])
        else:
            step_achievements.append(list(step["achievements"]))
    pathway_achievement: dict[str, Any] = {
        "id": url,
        "type": ["Achievement"],
        "achievementType": "LearningProgram",
        "name": pathway.name,
        "description": pathway.description or pathway.name,
        "criteria": {"narrative": criteria},
    }
    if owner is not None:
        pathway_achievement["creator"] = {
            "id": f"{base_url.rstrip('/')}/issuers/{owner.slug}",
            "type": ["Profile"],
            "name": owner.name,
        }
    if alignments:
        pathway_achievement["alignment"] = alignments
    achievements = [pathway_achievement]
    names: dict[str, str] = {}
    for step in pathway.steps:
        for achievement, name in zip(step.get("achievements", []), step.get("names", []), strict=False):
            names[achievement] = name
    for achievement in dict.fromkeys(a for group in step_achievements for a in group):
        achievements.append(
            {
                "id": achievement,
                "type": ["Achievement"],
                "name": names.get(achievement) or achievement,
                "description": f"A step of {pathway.name}",
                "criteria": {"id": achievement},
            }
        )
    associations = pathway_associations(pathway, base_url=base_url)
    return {
        "id": url,
        "name": pathway.name,
        "description": pathway.description,
        "outcome": pathway.outcome,
        "ordered": pathway.ordered,
        "owner": owner.slug if owner else None,
        "outcome_achievement": achievement_url(base_url, pathway.outcome_achievement_id)
        if pathway.outcome_achievement_id
        else None,
        "achievement": pathway_achievement,
        "achievements": achievements,
        "associations": associations,
        "definition": public_definition(pathway, base_url=base_url),
    }


def pathway_associations(pathway: Pathway, *, base_url: str) -> list[dict[str, Any]]:
    url = pathway_url(base_url, pathway.id)
    associations: list[dict[str, Any]] = []
    previous: list[str] = []
    for step in pathway.steps:
        group = [] if step["kind"] == "skill" else list(step["achievements"])
        for achievement in group:
            associations.append(
                {"type": "Association", "associationType": "isChildOf", "sourceId": achievement, "targetId": url}
            )
            associations.append(
                {"type": "Association", "associationType": "isParentOf", "sourceId": url, "targetId": achievement}
            )
        if pathway.ordered and group:
            for before in previous:
                for after in group:
                    associations.append(
                        {"type": "Association", "associationType": "precedes", "sourceId": before, "targetId": after}
                    )
            previous = group
    if pathway.outcome_achievement_id is not None:
        associations.append(
            {
                "type": "Association",
                "associationType": "isPartOf",
                "sourceId": url,
                "targetId": achievement_url(base_url, pathway.outcome_achievement_id),
            }
        )
    return associations


@dataclass(frozen=True)
class HeldSummary:
    """The columns of a held credential that pathways and skills need (not its bytes)."""

    id: uuid.UUID
    content_hash: str
    source: str
    outcome: str | None
    achievement_name: str | None
    issuer_name: str | None
    holder_binding: str


@dataclass(frozen=True)
class LearnerBadge:
    """A credential the learner holds, as the progress rule and the pages see it."""

    held: HeldSummary
    badge: HeldBadge

    @property
    def trusted(self) -> bool:
        """Counts towards an automatic award: issued here to this learner, or imported, checked and found
        valid *and* proven theirs (it names their account's subject id, or they proved control of its DID).
        A valid copy of someone else's badge, or one that only names them, shows as progress but never
        earns an outcome badge signed by the pathway's owner."""
        if self.held.source in TRUSTED_SOURCES:
            return True
        return self.held.outcome == "valid" and self.held.holder_binding in PROVEN_BINDINGS


class _BadgeCache:
    """What each credential's bytes say to the rule, by content hash (``sha256`` of those bytes, so an
    entry can never go stale); bounded, shared by the threads of one process."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, HeldBadge] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, content_hash: str) -> HeldBadge | None:
        with self._lock:
            badge = self._entries.get(content_hash)
            if badge is not None:
                self._entries.move_to_end(content_hash)
            return badge

    def put(self, content_hash: str, badge: HeldBadge) -> None:
        with self._lock:
            self._entries[content_hash] = badge
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)


_read_badges = _BadgeCache(50_000)


def learner_badges(db: Session, *, account_id: uuid.UUID) -> list[LearnerBadge]:
    """Every credential the learner holds that counts (not found invalid), read by the shared rule
    (:func:`wallet_protocol.pathways.wallet_badges`) exactly as the phone reads its replica.

    Bytes are loaded (in one query) only for credentials not read before: the reading is cached by content
    hash, which names those bytes and so never goes stale."""
    rows = db.execute(
        select(
            HeldCredential.id,
            HeldCredential.content_hash,
            HeldCredential.source,
            HeldCredential.outcome,
            HeldCredential.achievement_name,
            HeldCredential.issuer_name,
            HeldCredential.holder_binding,
        ).where(HeldCredential.account_id == account_id)
    ).all()
    summaries = [HeldSummary(*row) for row in rows if counts(row.outcome)]
    missing = [summary.id for summary in summaries if _read_badges.get(summary.content_hash) is None]
    for start in range(0, len(missing), 500):
        for content_hash, raw in db.execute(
            select(HeldCredential.content_hash, HeldCredential.raw).where(
                HeldCredential.id.in_(missing[start : start + 500])
            )
        ):
            _read_badges.put(content_hash, wallet_badges([(raw, content_hash, None)])[0])
    found = []
    for summary in summaries:
        badge = _read_badges.get(summary.content_hash)
        if badge is None:
            badge = wallet_badges([(db.get(HeldCredential, summary.id).raw, summary.content_hash, None)])[0]  # type: ignore[union-attr]
        found.append(LearnerBadge(summary, badge))
    return found


def earning_badges(db: Session, badges: list[LearnerBadge], *, base_url: str) -> list[LearnerBadge]:
    """The badges that may earn an outcome badge signed by a pathway's owner: everything issued here into
    this wallet, and imported credentials that are :attr:`~LearnerBadge.trusted` *and* signed by an
    organisation on this service (:class:`wallet.holding.trust.IssuerDirectory`) that owns the achievement
    when the achievement is one of ours. Anyone can sign a valid credential with a fresh did:key naming
    our achievement's id and the learner's subject id; that shows as progress, never as an award."""
    imported = [entry for entry in badges if entry.held.source not in TRUSTED_SOURCES and entry.trusted]
    vouched: set[uuid.UUID] = set()
    if imported:
        directory = IssuerDirectory.load(db, registry=IssuerRegistry(), base_url=base_url)
        rows = db.execute(
            select(HeldCredential.id, HeldCredential.verification, HeldCredential.issuer_id).where(
                HeldCredential.id.in_([entry.held.id for entry in imported])
            )
        ).all()
        owners = _achievement_owners(db, [entry.badge.achievement_id for entry in imported], base_url=base_url)
        for held_id, report, issuer_id in rows:
            trust = directory.judge(report, issuer_id=issuer_id, claimed_name=None)
            entry = next(item for item in imported if item.held.id == held_id)
            owner = owners.get(entry.badge.achievement_id or "")
            if trust.kind == "organisation" and (owner is None or owner == trust.organisation_slug):
                vouched.add(held_id)
    return [entry for entry in badges if entry.held.source in TRUSTED_SOURCES or entry.held.id in vouched]


def _achievement_owners(db: Session, urls: list[str | None], *, base_url: str) -> dict[str, str]:
    """Our achievement URLs among ``urls`` → the slug of the organisation that owns each."""
    ids = _our_achievements(urls, base_url)
    if not ids:
        return {}
    rows = db.execute(
        select(Achievement.id, Organisation.slug)
        .join(Organisation, Organisation.id == Achievement.organisation_id)
        .where(Achievement.id.in_(ids))
    ).all()
    return {ids[achievement_id]: slug for achievement_id, slug in rows}


@dataclass(frozen=True)
class LearnerPathway:
    pathway: Pathway
    progress: PathwayProgress
    awarded: PathwayAward | None


def learner_pathways(
    db: Session, *, account_id: uuid.UUID, badges: list[LearnerBadge] | None = None, started_only: bool = False
) -> list[LearnerPathway]:
    """Every published pathway with the learner's progress (their own only)."""
    badges = learner_badges(db, account_id=account_id) if badges is None else badges
    held = BadgeIndex(entry.badge for entry in badges)
    awards = {
        award.pathway_id: award
        for award in db.scalars(select(PathwayAward).where(PathwayAward.account_id == account_id))
    }
    result = []
    for pathway in list_pathways(db):
        computed = progress(rule_of(pathway), held)
        if started_only and not computed.started and pathway.id not in awards:
            continue
        result.append(LearnerPathway(pathway, computed, awards.get(pathway.id)))
    return result


def learner_pathway(db: Session, *, account_id: uuid.UUID, pathway_id: uuid.UUID) -> LearnerPathway:
    pathway = get_pathway(db, pathway_id=pathway_id)
    held = [entry.badge for entry in learner_badges(db, account_id=account_id)]
    award = db.scalar(
        select(PathwayAward).where(PathwayAward.pathway_id == pathway.id, PathwayAward.account_id == account_id)
    )
    return LearnerPathway(pathway, progress(rule_of(pathway), held), award)


@dataclass(frozen=True)
class NextStep:
    """Something the learner can do now that would advance a pathway."""

    kind: str
    """``claim_session`` (an open session: go and take part) or ``requestable`` (ask for the badge, with
    evidence: ``/wallet/requests/new?achievement=<achievement_id>``)."""
    pathway_id: uuid.UUID
    step_index: int
    achievement_url: str
    title: str
    organisation: str
    ends_at: dt.datetime | None
    achievement_id: uuid.UUID | None = None


NextStepSource = Callable[
    [Session, uuid.UUID, dict[str, list[tuple[uuid.UUID, int]]], str, dt.datetime], list[NextStep]
]
"""A source of next steps: given the learner, the achievement URLs that would advance a started pathway
(each with the (pathway, step) it advances), the base URL and now, what the learner could do to earn one."""


def _our_achievements(wanted: Iterable[str | None], base_url: str) -> dict[uuid.UUID, str]:
    """The achievements among ``wanted`` URLs that are ours, by id."""
    return {found: url for url in wanted if url and (found := local_achievement_id(base_url, url)) is not None}


def open_claim_sessions(
    db: Session,
    account_id: uuid.UUID,
    wanted: dict[str, list[tuple[uuid.UUID, int]]],
    base_url: str,
    now: dt.datetime,
) -> list[NextStep]:
    """Claim sessions open now whose badge advances a pathway (the room has the code; we name the place)."""
    ids = _our_achievements(wanted, base_url)
    if not ids:
        return []
    rows = db.execute(
        select(ClaimSession, Achievement, Organisation)
        .join(Achievement, Achievement.id == ClaimSession.achievement_id)
        .join(Organisation, Organisation.id == Achievement.organisation_id)
        .where(
            ClaimSession.achievement_id.in_(list(ids)),
            ClaimSession.state == SessionState.OPEN,
            ClaimSession.starts_at <= now,
            ClaimSession.ends_at > now,
            ClaimSession.claimed < ClaimSession.cap,
        )
        .order_by(ClaimSession.ends_at)
    ).all()
    steps = []
    for session, achievement, organisation in rows:
        url = ids[achievement.id]
        for pathway_id, index in wanted[url]:
            steps.append(
                NextStep(
                    "claim_session",
                    pathway_id,
                    index,
                    url,
                    f"{achievement.name} — {session.title}" if getattr(session, "title", "") else achievement.name,
                    organisation.name,
                    session.ends_at,
                    achievement.id,
                )
            )
    return steps


def requestable_badges(
    db: Session,
    account_id: uuid.UUID,
    wanted: dict[str, list[tuple[uuid.UUID, int]]],
    base_url: str,
    now: dt.datetime,
) -> list[NextStep]:
    """Badges the learner may ask for (with evidence) that advance a pathway, unless they already asked and
    the request is still open (they are waiting for a decision, not choosing what to do next)."""
    ids = _our_achievements(wanted, base_url)
    if not ids:
        return []
    asked = set(
        db.scalars(
            select(BadgeRequest.achievement_id).where(
                BadgeRequest.account_id == account_id,
                BadgeRequest.achievement_id.in_(list(ids)),
                BadgeRequest.status.in_(OPEN_STATUSES),
            )
        )
    )
    rows = db.execute(
        select(Achievement, Organisation)
        .join(RequestableAchievement, RequestableAchievement.achievement_id == Achievement.id)
        .join(Organisation, Organisation.id == RequestableAchievement.organisation_id)
        .where(Achievement.id.in_(list(ids)), Achievement.archived_at.is_(None))
        .order_by(Organisation.name, Achievement.name)
    ).all()
    steps = []
    for achievement, organisation in rows:
        if achievement.id in asked:
            continue
        url = ids[achievement.id]
        for pathway_id, index in wanted[url]:
            steps.append(
                NextStep(
                    "requestable", pathway_id, index, url, achievement.name, organisation.name, None, achievement.id
                )
            )
    return steps


NEXT_STEP_SOURCES: tuple[NextStepSource, ...] = (open_claim_sessions, requestable_badges)
"""Where next steps come from: each a function of the same shape."""


def next_steps(
    db: Session,
    *,
    account_id: uuid.UUID,
    base_url: str,
    now: dt.datetime,
    pathways: list[LearnerPathway] | None = None,
    sources: Iterable[NextStepSource] = NEXT_STEP_SOURCES,
) -> list[NextStep]:
    """What would advance the learner's started, unfinished pathways (steps not done, badges not held)."""
    pathways = learner_pathways(db, account_id=account_id, started_only=True) if pathways is None else pathways
    wanted: dict[str, list[tuple[uuid.UUID, int]]] = {}
    for entry in pathways:
        if entry.progress.complete:
            continue
        for step, done in zip(entry.pathway.steps, entry.progress.steps, strict=True):
            if done.done:
                continue
            held = set(done.by_achievements)
            for url in step.get("achievements", []):
                if url not in held:
                    wanted.setdefault(url, []).append((entry.pathway.id, done.index))
    found: list[NextStep] = []
    for source in sources:
        found.extend(source(db, account_id, wanted, base_url, now))
    return found


@dataclass(frozen=True)
class StepView:
    """One step of a started pathway as the learner's page shows it."""

    progress: StepProgress
    badges: list[HeldSummary]
    """The learner's badges that count towards it, earliest first."""
    is_next: bool
    next_steps: list[NextStep]
    """What the learner could do now towards this step (open claim sessions, …)."""
    names: list[str]
    """The names of the badges the step asks for (one of them, or any N of them)."""


@dataclass(frozen=True)
class PathwayView:
    entry: LearnerPathway
    steps: list[StepView]


@dataclass(frozen=True)
class MyPathways:
    """The learner's pathways page: started pathways step by step, the other pathways, and next steps."""

    started: list[PathwayView]
    others: list[LearnerPathway]
    next_steps: list[NextStep]


def my_pathways(db: Session, *, account_id: uuid.UUID, base_url: str, now: dt.datetime) -> MyPathways:
    """Each started pathway with the badges that did each step and what is next; then the rest."""
    badges = learner_badges(db, account_id=account_id)
    entries = learner_pathways(db, account_id=account_id, badges=badges)
    started = [entry for entry in entries if entry.progress.started or entry.awarded is not None]
    others = [entry for entry in entries if not (entry.progress.started or entry.awarded is not None)]
    ahead = next_steps(db, account_id=account_id, base_url=base_url, now=now, pathways=started)
    by_step: dict[tuple[uuid.UUID, int], list[NextStep]] = {}
    for step in ahead:
        by_step.setdefault((step.pathway_id, step.step_index), []).append(step)
    held = {entry.badge.key: entry.held for entry in badges}
    views = [
        PathwayView(
            entry,
            [
                StepView(
                    progress=step,
                    badges=[held[key] for key in step.by if key in held],
                    is_next=entry.progress.next_step == step.index,
                    next_steps=by_step.get((entry.pathway.id, step.index), []),
                    names=list(definition.get("names", [])),
                )
                for step, definition in zip(entry.progress.steps, entry.pathway.steps, strict=True)
            ],
        )
        for entry in started
    ]
    return MyPathways(started=views, others=others, next_steps=ahead)


AUTOMATIC_PATHWAYS_RECHECK_S = 2.0
"""How long a process trusts that no automatic pathway exists before it asks the database again."""


class _NoAutomaticPathways:
    """Remembers for :data:`AUTOMATIC_PATHWAYS_RECHECK_S` that no automatic pathway exists, so a delivery
    (every claim) skips the pathway query on a server that has none; shared by the threads of one process.

    A pathway created or changed in this process (:func:`create_pathway`, :func:`update_pathway`) is
    seen by the next delivery: :meth:`forget` drops the memory, and nothing is remembered for the same
    span after it, since the change may still be uncommitted while another thread finds no pathway. A
    change made by another process reaches this one's deliveries within the span; a delivery in it is
    judged as if it had come just before the change (the award then comes with the learner's next
    delivery, as for any pathway completed before it existed).
    """

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._none_until = 0.0
        self._changed_at = -seconds
        self._lock = threading.Lock()

    def known(self) -> bool:
        return time.monotonic() < self._none_until

    def remember(self, *, asked_at: float) -> None:
        """No automatic pathway existed when the query sent at ``asked_at`` (``time.monotonic()``) ran."""
        with self._lock:
            if asked_at - self._changed_at > self._seconds:
                self._none_until = asked_at + self._seconds

    def forget(self) -> None:
        with self._lock:
            self._none_until = 0.0
            self._changed_at = time.monotonic()


_no_automatic_pathways = _NoAutomaticPathways(AUTOMATIC_PATHWAYS_RECHECK_S)


def award_completed_pathways(
    db: Session, *, account_id: uuid.UUID, kek: bytes, base_url: str, now: dt.datetime, depth: int = 0
) -> list[PathwayAward]:
    """Award the outcome badge of every automatic pathway the learner's trusted credentials complete.

    Called with the learner's wallet locked (by :func:`wallet.issuing.delivery.deliver`); each award is
    one ``pathway_awards`` row inserted in a savepoint, so a second completion — concurrent or repeated —
    finds the row and awards nothing. The outcome badge's evidence names every completing credential.
    While the process knows that there is no automatic pathway at all (:class:`_NoAutomaticPathways`),
    no query is sent.
    """
    if depth >= MAX_AWARD_DEPTH or _no_automatic_pathways.known():
        return []
    asked_at = time.monotonic()
    candidates = [
        pathway
        for pathway in db.scalars(
            select(Pathway).where(
                Pathway.auto_award.is_(True),
                Pathway.archived_at.is_(None),
                Pathway.outcome_achievement_id.is_not(None),
            )
        )
    ]
    if not candidates:
        _no_automatic_pathways.remember(asked_at=asked_at)
        return []
    done_already = set(db.scalars(select(PathwayAward.pathway_id).where(PathwayAward.account_id == account_id)))
    candidates = [pathway for pathway in candidates if pathway.id not in done_already]
    if not candidates:
        return []
    badges = earning_badges(db, learner_badges(db, account_id=account_id), base_url=base_url)
    by_key = {entry.badge.key: entry for entry in badges}
    index = BadgeIndex(entry.badge for entry in badges)
    awarded = []
    for pathway in candidates:
        computed = progress(rule_of(pathway), index)
        if not computed.complete:
            continue
        evidence_keys = list(computed.completing_credentials)
        award = PathwayAward(pathway_id=pathway.id, account_id=account_id, evidence=evidence_keys, created_at=now)
        try:
            with db.begin_nested():
                db.add(award)
                db.flush()
        except IntegrityError:
            continue
        from wallet.issuing.delivery import deliver  # delivery calls back into this module

        evidence = [
            {
                "id": key if ":" in key else None,
                "name": by_key[key].held.achievement_name or "A badge",
                "description": f"Completed a step of the pathway {pathway.name}",
                "narrative": f"Credential {key}, issued by {by_key[key].held.issuer_name or 'its issuer'}",
            }
            for key in evidence_keys
        ]
        evidence.insert(
            0,
            {
                "id": pathway_url(base_url, pathway.id),
                "name": pathway.name,
                "description": "The learning pathway these credentials completed",
            },
        )
        assert pathway.outcome_achievement_id is not None
        delivered = deliver(
            db,
            achievement_id=pathway.outcome_achievement_id,
            account_id=account_id,
            source="award",
            kek=kek,
            base_url=base_url,
            now=now,
            evidence=evidence,
            award_depth=depth + 1,
        )
        award.issued_credential_id = delivered.issued.id
        db.flush()
        awarded.append(award)
    return awarded


Recognise = Callable[[Session, uuid.UUID, dt.datetime], list[PathwayAward]]
"""``recognise(db, account_id, now)``: award what credentials that just arrived from elsewhere complete
(:func:`recogniser` binds the keys; the app keeps one on its state)."""


def recogniser(*, kek: bytes, base_url: str) -> Recognise:
    """The app's one way to recognise imported credentials: after a credential from elsewhere is held
    (a file, a URL, a device's offline import arriving by sync) the learner's automatic pathways are
    judged again, exactly as after a delivery. Only credentials checked and found valid count
    (:attr:`LearnerBadge.trusted`: valid and proven the learner's), so a forged import, or a copy of
    someone else's badge, never earns an outcome badge. It takes the learner's wallet lock (a no-op
    when the import already holds it), so it is judged in turn with every delivery."""

    def recognise(db: Session, account_id: uuid.UUID, now: dt.datetime) -> list[PathwayAward]:
        lock_wallet_row(db, account_id=account_id, now=now)
        return award_completed_pathways(db, account_id=account_id, kek=kek, base_url=base_url, now=now)

    return recognise

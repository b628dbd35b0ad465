"""What the console's pathway, alignment and framework pages show, and how their forms become the
API's input.

The forms post plain fields (a badge's id, a framework item's address, a number typed as text); the
functions here turn them into exactly what the API's JSON would be — :func:`step_input` into one step of
``POST /api/v1/organisations/<slug>/pathways``, :func:`pathway_input` into its other fields — and refuse
what cannot be read with ``pathway.invalid`` and ``errors`` by field, the code the service itself uses, so
one page shows both next to the fields. Who may do what stays the service's rule
(:mod:`wallet.pathways.services`, :mod:`wallet.skills.frameworks`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.errors import DomainError
from wallet.issuing.achievements import list_achievements
from wallet.issuing.credentials import achievement_url
from wallet.models import Achievement, Organisation, Pathway, SkillFramework
from wallet.organisations.services import ADMINS, require_role
from wallet.pathways import services as pathways
from wallet.skills import frameworks as skills

STEP_KINDS = ("badge", "any_of", "skill")


def _invalid(errors: dict[str, str]) -> DomainError:
    return DomainError(
        "pathway.invalid",
        "; ".join(f"{name}: {message}" for name, message in errors.items()),
        errors={name: [message] for name, message in errors.items()},
    )


# --- Choices --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadgeChoice:
    id: str
    url: str
    name: str
    organisation: str


@dataclass(frozen=True)
class BadgeGroup:
    organisation: Organisation
    badges: list[BadgeChoice]


def city_badges(db: Session, *, base_url: str) -> list[BadgeGroup]:
    """Every organisation's published (not archived) achievements, by organisation: what a step may name."""
    rows = db.execute(
        select(Achievement, Organisation)
        .join(Organisation, Organisation.id == Achievement.organisation_id)
        .where(Achievement.archived_at.is_(None))
        .order_by(Organisation.name, Achievement.name)
    ).all()
    groups: dict[uuid.UUID, BadgeGroup] = {}
    for achievement, organisation in rows:
        group = groups.setdefault(organisation.id, BadgeGroup(organisation, []))
        group.badges.append(
            BadgeChoice(
                str(achievement.id), achievement_url(base_url, achievement.id), achievement.name, organisation.name
            )
        )
    return list(groups.values())


@dataclass(frozen=True)
class SkillChoice:
    url: str
    """The item's address in the framework's latest version: the value a form posts."""
    label: str
    depth: int


@dataclass(frozen=True)
class SkillGroup:
    framework: SkillFramework
    version: int
    title: str
    items: list[SkillChoice]


def skill_choices(db: Session, *, base_url: str) -> list[SkillGroup]:
    """Every framework's items in its latest version, in the file's order, children under parents."""
    groups = []
    for framework in skills.list_frameworks(db):
        view = skills.framework_view(db, slug=framework.slug)
        depths: dict[str, int] = {}
        choices = []
        for item in view.items:
            depth = depths.get(item.parent_identifier, -1) + 1 if item.parent_identifier else 0
            depths[item.identifier] = depth
            label = f"{item.code} · {item.statement}" if item.code else item.statement
            choices.append(
                SkillChoice(
                    skills.item_url(base_url, framework.slug, view.version.version, item.identifier), label, depth
                )
            )
        groups.append(SkillGroup(framework, view.version.version, view.version.title, choices))
    return groups


def city_organisations(db: Session) -> list[Organisation]:
    """Every organisation (their profiles are public at ``/issuers/<slug>``): who may co-design."""
    return list(db.scalars(select(Organisation).order_by(Organisation.name)))


# --- Forms into the API's input -------------------------------------------------------------------


def _achievement_id(value: str, field_name: str, errors: dict[str, str]) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        errors[field_name] = "pick a badge from the list"
        return None


def step_input(
    *,
    kind: str,
    badge: str = "",
    any_of: Sequence[str] = (),
    n: str = "",
    skill: str = "",
    title: str = "",
    base_url: str,
) -> dict[str, Any]:
    """One step from the step form, as the API's JSON for it."""
    errors: dict[str, str] = {}
    title = title.strip()
    if len(title) > 200:
        errors["step_title"] = "at most 200 characters"
    step: dict[str, Any] = {"kind": kind, "title": title}
    if kind == "badge":
        if not badge:
            errors["step_badge"] = "pick the badge"
        else:
            step["achievement"] = _achievement_id(badge, "step_badge", errors)
    elif kind == "any_of":
        chosen = list(dict.fromkeys(value for value in any_of if value))
        if not chosen:
            errors["step_any_of"] = "tick at least one badge"
        elif len(chosen) > 100:
            errors["step_any_of"] = "at most 100 badges"
        step["achievements"] = [_achievement_id(value, "step_any_of", errors) for value in chosen]
        if not re.fullmatch(r"[0-9]{1,3}", n.strip()) or not 1 <= int(n) <= max(len(chosen), 1):
            errors["step_n"] = f"a whole number from 1 to the number of badges ticked ({len(chosen)})"
        else:
            step["n"] = int(n)
    elif kind == "skill":
        parsed = skills.parse_item_url(base_url, skill) if skill else None
        if parsed is None:
            errors["step_skill"] = "pick a skill from the list"
        else:
            step.update(framework=parsed[0], version=parsed[1], item=parsed[2])
    else:
        errors["step_kind"] = "pick what the step asks for"
    if errors:
        raise _invalid(errors)
    return step


def pathway_input(
    *,
    name: str,
    description: str,
    outcome: str,
    outcome_badge: str,
    auto_award: bool,
    ordered: bool,
    partners: Sequence[str],
) -> dict[str, Any]:
    """The pathway form's fields, as the API's JSON (the service checks the rest)."""
    fields: dict[str, Any] = {
        "name": name.strip(),
        "description": description.strip(),
        "outcome": outcome.strip(),
        "auto_award": auto_award,
        "ordered": ordered,
        "partners": [slug for slug in dict.fromkeys(partners) if slug],
        "outcome_achievement_id": None,
    }
    if outcome_badge:
        try:
            fields["outcome_achievement_id"] = uuid.UUID(outcome_badge)
        except ValueError:
            raise _invalid({"outcome_achievement_id": "pick one of your badges, or none"}) from None
    pathways.check_words(name=fields["name"], description=fields["description"], outcome=fields["outcome"])
    return fields


def field_errors(error: DomainError) -> dict[str, str]:
    """A refused form's errors by the form's field names: ``steps[…]`` (the service's) go to the step
    form, which only ever sends the newest step."""
    raw = error.extra.get("errors") or {}
    shown: dict[str, str] = {}
    for name, messages in raw.items():
        message = messages[0] if isinstance(messages, list) and messages else str(messages)
        if name.startswith("steps"):
            name = "step"
        shown.setdefault(name, message)
    if not shown:
        shown["form"] = error.detail
    return shown


# --- Read models ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathwayRow:
    pathway: Pathway
    owner: Organisation
    ours: bool
    """Owned by the organisation whose console this is (else it is a partner)."""


def organisation_pathways(db: Session, *, slug: str, actor: uuid.UUID) -> tuple[Organisation, list[PathwayRow]]:
    """The pathways an organisation owns or co-designs as a partner, archived ones last (its admins)."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    owners = {o.id: o for o in city_organisations(db)}
    rows = [
        PathwayRow(pathway, owners[pathway.organisation_id], pathway.organisation_id == organisation.id)
        for pathway in pathways.list_pathways(db, include_archived=True)
        if pathway.organisation_id == organisation.id or str(organisation.id) in pathway.partners
    ]
    rows.sort(key=lambda row: (row.pathway.archived_at is not None, row.pathway.name.lower()))
    return organisation, rows


@dataclass(frozen=True)
class StepView:
    index: int
    kind: str
    title: str
    needs: str
    """What the step asks for, in words."""
    badges: list[str] = field(default_factory=list)
    """The badges it names, with their organisations (badge and any-N-of steps)."""


@dataclass(frozen=True)
class PathwayDesign:
    organisation: Organisation
    """Whose console this is: the owner, or a partner."""
    pathway: Pathway
    owner: Organisation
    partners: list[Organisation]
    is_owner: bool
    steps: list[StepView]
    outcome_badges: list[Achievement]
    """The owner's badges, from which the outcome badge is chosen."""
    outcome_name: str | None


def _badge_names(db: Session, *, base_url: str) -> dict[str, str]:
    return {
        choice.url: f"{choice.name} ({choice.organisation})"
        for group in city_badges(db, base_url=base_url)
        for choice in group.badges
    }


def _skill_needs(db: Session, step: dict[str, Any]) -> str:
    """A skill step in words: the framework's title, its version and the item's code."""
    try:
        view = skills.item_view(db, slug=step["framework"], version=step["version"], identifier=step["item"])
    except DomainError:
        return f"A badge aligned to this skill ({step['framework']}, version {step['version']})"
    code = view.item.code or view.item.identifier
    return f"A badge aligned to this skill ({view.version.title}, version {step['version']}, {code})"


def _step_views(db: Session, pathway: Pathway, *, base_url: str) -> list[StepView]:
    names = _badge_names(db, base_url=base_url)
    views = []
    for index, step in enumerate(pathway.steps):
        if step["kind"] == "skill":
            views.append(StepView(index, "skill", step.get("title") or step["item"], _skill_needs(db, step)))
            continue
        badges = [
            names.get(url) or (given or url)
            for url, given in zip(
                step["achievements"], step.get("names") or [""] * len(step["achievements"]), strict=False
            )
        ]
        needs = "This badge" if step["kind"] == "badge" else f"Any {step['n']} of these {len(badges)} badges"
        views.append(StepView(index, step["kind"], step.get("title") or needs, needs, badges))
    return views


def require_pathway(db: Session, *, slug: str, actor: uuid.UUID, pathway_id: uuid.UUID) -> tuple[Organisation, Pathway]:
    """The organisation (its admins) and a pathway it owns or partners in; any other is ``pathway.not_found``."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    pathway = db.get(Pathway, pathway_id)
    if pathway is None or (pathway.organisation_id != organisation.id and str(organisation.id) not in pathway.partners):
        raise DomainError("pathway.not_found")
    return organisation, pathway


def pathway_design(db: Session, *, slug: str, actor: uuid.UUID, pathway_id: uuid.UUID, base_url: str) -> PathwayDesign:
    """A pathway as its designers see it in the console: details, partners, steps in words."""
    organisation, pathway = require_pathway(db, slug=slug, actor=actor, pathway_id=pathway_id)
    every = {o.id: o for o in city_organisations(db)}
    owner = every[pathway.organisation_id]
    partners = [every[uuid.UUID(partner)] for partner in pathway.partners if uuid.UUID(partner) in every]
    outcome = db.get(Achievement, pathway.outcome_achievement_id) if pathway.outcome_achievement_id else None
    return PathwayDesign(
        organisation=organisation,
        pathway=pathway,
        owner=owner,
        partners=partners,
        is_owner=owner.id == organisation.id,
        steps=_step_views(db, pathway, base_url=base_url),
        outcome_badges=list_achievements(db, slug=owner.slug, actor=actor) if owner.id == organisation.id else [],
        outcome_name=outcome.name if outcome else None,
    )


def pathway_values(design: PathwayDesign) -> dict[str, Any]:
    """The details form filled with what the pathway says now."""
    pathway = design.pathway
    return {
        "name": pathway.name,
        "description": pathway.description,
        "outcome": pathway.outcome,
        "outcome_badge": str(pathway.outcome_achievement_id or ""),
        "auto_award": pathway.auto_award,
        "ordered": pathway.ordered,
        "partners": [partner.slug for partner in design.partners],
    }


# --- Alignments and frameworks ---------------------------------------------------------------------


@dataclass(frozen=True)
class AlignmentRow:
    alignment: dict[str, Any]
    version: int | None
    in_latest: str | None
    """``latest``, ``unchanged``, ``changed``, ``removed`` or ``unknown`` (see :func:`alignment_freshness`)."""
    latest_version: int | None


def framework_alignments(db: Session, *, achievement: Achievement, base_url: str) -> list[AlignmentRow]:
    """The badge's alignments to our frameworks' items, each saying whether a newer version changed it."""
    ours = [entry for entry in achievement.alignments or [] if skills.is_framework_alignment(base_url, entry)]
    report = skills.alignment_freshness(db, base_url=base_url, alignments=ours)
    return [
        AlignmentRow(entry, fresh.get("version"), fresh.get("in_latest"), fresh.get("latest_version"))
        for entry, fresh in zip(ours, report, strict=True)
    ]


def alignment_target(value: str, *, base_url: str) -> tuple[str, int, str]:
    """(framework, version, item) from a chosen item's address; anything else is a friendly 422."""
    parsed = skills.parse_item_url(base_url, value) if value else None
    if parsed is None:
        raise DomainError(
            "request.validation_failed",
            "Pick a skill from the list.",
            errors={"skill": ["pick a skill from the list"]},
        )
    return parsed


@dataclass(frozen=True)
class FrameworkRow:
    framework: SkillFramework
    owner: Organisation | None
    items: int


def framework_rows(db: Session) -> list[FrameworkRow]:
    """Every framework with its owner and the number of items in its latest version (public facts)."""
    owners = {o.id: o for o in city_organisations(db)}
    rows = []
    for framework in skills.list_frameworks(db):
        view = skills.framework_view(db, slug=framework.slug)
        rows.append(FrameworkRow(framework, owners.get(framework.organisation_id), len(view.items)))
    return rows

"""The pathway progress rule: which steps of a learning pathway a learner's badges complete.

The server (its API, its pages, the automatic outcome award) and the phone (offline, from its replica)
compute progress with this one function over the same inputs — the public pathway definition and the
credentials the learner holds — so they cannot disagree.

A pathway is a list of steps; each step is one of

* ``badge``   — a badge of this achievement (``achievements`` holds its one id);
* ``any_of``  — any ``n`` *distinct* badges among ``achievements`` (two credentials of one
  achievement — a re-issue, another encoding — count once);
* ``skill``   — a badge aligned to this skill (``skills`` holds the alignment ``targetUrl`` values that
  name it: the framework item's URL in every framework version where the item is unchanged).

Invariants (tests/protocol/test_pathways.py checks each with hypothesis):

1. **Monotone**: adding a credential never lowers progress — a step done stays done, no step's count
   falls, and the number of steps done never falls.
2. **Order-free**: progress is a function of the *set* of credentials; the order they arrived in, or a
   credential seen twice, changes nothing.
3. **Distinct**: ``any_of`` counts distinct achievements, never credentials.
4. **Ordered pathways** (``ordered``): a badge counts towards step *k* only if it was issued no earlier
   than the moment step *k-1* was completed (the earliest moment its badges allow). Adding a credential
   can only bring those moments forward, so invariant 1 still holds. A badge without an issue date is
   treated as issued at the latest moment: it completes a step but nothing ordered after it except
   other undated badges.
5. **Which badges**: each step reports the badges that complete it, earliest first (ties by key), so
   two computations name the same credentials.

Pure: the standard library only; no clock (progress does not depend on "now").
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STEP_KINDS = ("badge", "any_of", "skill")
MAX_STEPS = 50
MAX_STEP_TARGETS = 100
UNDATED = float("inf")
"""The issue time given to a badge with no date (invariant 4)."""


@dataclass(frozen=True)
class HeldBadge:
    """What progress needs to know of one credential the learner holds.

    ``key`` names the credential (its ``id``, else its content hash) in the progress report;
    ``achievement_id`` is the achievement it is a badge of; ``skills`` the ``targetUrl`` of each of its
    alignments; ``issued_at`` POSIX seconds (``None``: undated).
    """

    key: str
    achievement_id: str | None
    skills: frozenset[str] = frozenset()
    issued_at: float | None = None

    @property
    def time(self) -> float:
        return UNDATED if self.issued_at is None else self.issued_at


@dataclass(frozen=True)
class Step:
    kind: str
    achievements: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    n: int = 1
    title: str = ""

    def needed(self) -> int:
        return self.n if self.kind == "any_of" else 1


@dataclass(frozen=True)
class PathwayRule:
    """A pathway as the rule sees it (the public definition, parsed by :func:`pathway_rule`)."""

    id: str
    steps: tuple[Step, ...]
    ordered: bool = False


@dataclass(frozen=True)
class StepProgress:
    index: int
    kind: str
    title: str
    needed: int
    have: int
    done: bool
    by: tuple[str, ...]
    """Keys of the credentials that count towards the step, earliest first."""
    by_achievements: tuple[str, ...]


@dataclass(frozen=True)
class PathwayProgress:
    pathway_id: str
    steps: tuple[StepProgress, ...]
    steps_done: int
    total_steps: int
    complete: bool
    started: bool
    next_step: int | None
    """The first step not yet done (``None`` when complete)."""
    completing_credentials: tuple[str, ...] = field(default=())
    """Every credential that counts, in step order (the outcome badge's evidence)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "pathway_id": self.pathway_id,
            "steps_done": self.steps_done,
            "total_steps": self.total_steps,
            "complete": self.complete,
            "started": self.started,
            "next_step": self.next_step,
            "steps": [
                {
                    "index": step.index,
                    "kind": step.kind,
                    "title": step.title,
                    "needed": step.needed,
                    "have": step.have,
                    "done": step.done,
                    "by": list(step.by),
                    "by_achievements": list(step.by_achievements),
                }
                for step in self.steps
            ],
        }


class InvalidPathway(ValueError):
    """A pathway definition the rule cannot apply (with a field and a message for the client)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def _strings(value: Any, field_name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise InvalidPathway(field_name, "must be a list of non-empty strings")
    if len(value) > MAX_STEP_TARGETS:
        raise InvalidPathway(field_name, f"at most {MAX_STEP_TARGETS} entries")
    return tuple(dict.fromkeys(value))


def parse_step(data: Mapping[str, Any], *, where: str = "step") -> Step:
    """One step from its JSON form (``{"kind": "any_of", "n": 2, "achievements": [...]}``)."""
    if not isinstance(data, Mapping):
        raise InvalidPathway(where, "must be an object")
    kind = data.get("kind")
    title = data.get("title") or ""
    if not isinstance(title, str):
        raise InvalidPathway(f"{where}.title", "must be a string")
    if kind == "badge":
        achievements = _strings(data.get("achievements"), f"{where}.achievements")
        if len(achievements) != 1:
            raise InvalidPathway(f"{where}.achievements", "a badge step names exactly one achievement")
        return Step("badge", achievements=achievements, title=title)
    if kind == "any_of":
        achievements = _strings(data.get("achievements"), f"{where}.achievements")
        n = data.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(achievements):
            raise InvalidPathway(f"{where}.n", "must be a whole number from 1 to the number of achievements")
        return Step("any_of", achievements=achievements, n=n, title=title)
    if kind == "skill":
        skills = _strings(data.get("skills"), f"{where}.skills")
        if not skills:
            raise InvalidPathway(f"{where}.skills", "name at least one skill")
        return Step("skill", skills=skills, title=title)
    raise InvalidPathway(f"{where}.kind", f"must be one of {', '.join(STEP_KINDS)}")


def pathway_rule(data: Mapping[str, Any]) -> PathwayRule:
    """The rule's view of a public pathway definition (``id``, ``ordered``, ``steps``)."""
    steps = data.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise InvalidPathway("steps", f"give from 1 to {MAX_STEPS} steps")
    ordered = data.get("ordered", False)
    if not isinstance(ordered, bool):
        raise InvalidPathway("ordered", "must be true or false")
    return PathwayRule(
        id=str(data.get("id") or ""),
        steps=tuple(parse_step(step, where=f"steps[{i}]") for i, step in enumerate(steps)),
        ordered=ordered,
    )


class BadgeIndex:
    """A learner's badges read once for many pathways: by achievement and by skill, earliest first.

    Build it once and pass it to :func:`progress` for every pathway (what the server and the phone do);
    a step then looks only at the badges that could match it.
    """

    def __init__(self, badges: Iterable[HeldBadge]) -> None:
        unique = {badge.key: badge for badge in badges}
        self.ordered = sorted(unique.values(), key=lambda badge: (badge.time, badge.key))
        self.rank = {badge.key: index for index, badge in enumerate(self.ordered)}
        self.by_achievement: dict[str, list[HeldBadge]] = {}
        self.by_skill: dict[str, list[HeldBadge]] = {}
        for badge in self.ordered:
            if badge.achievement_id is not None:
                self.by_achievement.setdefault(badge.achievement_id, []).append(badge)
            for skill in badge.skills:
                self.by_skill.setdefault(skill, []).append(badge)

    def candidates(self, step: Step) -> list[HeldBadge]:
        """The badges that match ``step``, earliest first (ties by key)."""
        if step.kind == "skill":
            groups = [self.by_skill.get(skill, ()) for skill in step.skills]
        else:
            groups = [self.by_achievement.get(achievement, ()) for achievement in step.achievements]
        groups = [group for group in groups if group]
        if not groups:
            return []
        if len(groups) == 1:
            return list(groups[0])
        merged = {badge.key: badge for group in groups for badge in group}
        return sorted(merged.values(), key=lambda badge: self.rank[badge.key])


def _step_progress(index: int, step: Step, candidates: list[HeldBadge], floor: float) -> tuple[StepProgress, float]:
    """The step's progress over matching ``candidates`` issued at or after ``floor``, and when it was done."""
    needed = step.needed()
    chosen: list[HeldBadge] = []
    seen_achievements: set[str] = set()
    distinct = step.kind == "any_of"
    for badge in candidates:
        if badge.time < floor:
            continue
        if distinct:
            assert badge.achievement_id is not None
            if badge.achievement_id in seen_achievements:
                continue
            seen_achievements.add(badge.achievement_id)
        chosen.append(badge)
        if len(chosen) == needed:
            break
    done = len(chosen) >= needed
    done_at = chosen[-1].time if done else UNDATED
    progress = StepProgress(
        index=index,
        kind=step.kind,
        title=step.title,
        needed=needed,
        have=len(chosen),
        done=done,
        by=tuple(badge.key for badge in chosen),
        by_achievements=tuple(dict.fromkeys(badge.achievement_id or "" for badge in chosen)),
    )
    return progress, done_at


def progress(rule: PathwayRule, badges: Iterable[HeldBadge] | BadgeIndex) -> PathwayProgress:
    """How far ``badges`` take a learner along ``rule`` (invariants 1-5 of the module docstring).

    ``badges`` may be a :class:`BadgeIndex` built once for many pathways.
    """
    index = badges if isinstance(badges, BadgeIndex) else BadgeIndex(badges)
    steps: list[StepProgress] = []
    floor = -UNDATED
    for number, step in enumerate(rule.steps):
        step_progress, done_at = _step_progress(
            number, step, index.candidates(step), floor if rule.ordered else -UNDATED
        )
        steps.append(step_progress)
        if rule.ordered:
            floor = done_at if step_progress.done else UNDATED
    done = sum(1 for step in steps if step.done)
    next_step = next((step.index for step in steps if not step.done), None)
    return PathwayProgress(
        pathway_id=rule.id,
        steps=tuple(steps),
        steps_done=done,
        total_steps=len(steps),
        complete=done == len(steps),
        started=any(step.have for step in steps),
        next_step=next_step,
        completing_credentials=tuple(dict.fromkeys(key for step in steps for key in step.by)),
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _jwt_payload(text: str) -> dict[str, Any] | None:
    parts = text.strip().split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    inner = payload.get("vc")
    return inner if isinstance(inner, dict) else payload


def credential_document(raw: bytes | str) -> dict[str, Any] | None:
    """The credential JSON in ``raw`` (JSON, or a VC-JWT's payload, read without checking its signature)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
    return _jwt_payload(stripped)


def held_badge(credential: Mapping[str, Any], *, key: str) -> HeldBadge:
    """What an OB 3.0 credential (or an OB 2.0 assertion) contributes to progress.

    The achievement is ``credentialSubject.achievement.id`` (OB 2.0: ``badge`` as a URL or an object's
    ``id``); skills are the ``targetUrl`` of every ``alignment`` of the achievement; the time is
    ``validFrom``, else ``issuanceDate``, else ``awardedDate``, else OB 2.0's ``issuedOn``.
    """
    achievement_id: str | None = None
    skills: set[str] = set()
    for subject in _as_list(credential.get("credentialSubject")):
        if not isinstance(subject, Mapping):
            continue
        achievement = subject.get("achievement")
        if isinstance(achievement, Mapping):
            if achievement_id is None and isinstance(achievement.get("id"), str):
                achievement_id = achievement["id"]
            for alignment in _as_list(achievement.get("alignment")):
                if isinstance(alignment, Mapping) and isinstance(alignment.get("targetUrl"), str):
                    skills.add(alignment["targetUrl"])
    badge = credential.get("badge")
    if achievement_id is None and isinstance(badge, str):
        achievement_id = badge
    elif achievement_id is None and isinstance(badge, Mapping):
        if isinstance(badge.get("id"), str):
            achievement_id = badge["id"]
        for alignment in _as_list(badge.get("alignment")):
            if isinstance(alignment, Mapping) and isinstance(alignment.get("targetUrl"), str):
                skills.add(alignment["targetUrl"])
    issued_at = None
    for name in ("validFrom", "issuanceDate", "awardedDate", "issuedOn"):
        issued_at = _timestamp(credential.get(name))
        if issued_at is not None:
            break
    return HeldBadge(key=key, achievement_id=achievement_id, skills=frozenset(skills), issued_at=issued_at)


COUNTED_OUTCOMES = frozenset({"valid", "indeterminate", None})
"""Verification outcomes of a held credential that count towards progress: a credential found invalid
(revoked, forged, expired) never does; one not yet checked, or that could not be checked, does."""


def counts(outcome: str | None) -> bool:
    return outcome in COUNTED_OUTCOMES


def credential_key(document: Mapping[str, Any] | None, content_hash: str) -> str:
    """The name a credential goes by in a progress report: its ``id``, else its content hash."""
    identifier = document.get("id") if document is not None else None
    return identifier if isinstance(identifier, str) and identifier else content_hash


def wallet_badges(entries: Iterable[tuple[bytes, str, str | None]]) -> list[HeldBadge]:
    """The badges of a wallet, from ``(raw bytes, content hash, verification outcome)`` per credential.

    The server (its ``held_credentials``) and the phone (its replica's blobs and ``facts``) both call
    this, so they count the same credentials the same way; a credential found invalid does not count.
    """
    badges = []
    for raw, content_hash, outcome in entries:
        if not counts(outcome):
            continue
        document = credential_document(raw)
        badges.append(held_badge(document or {}, key=credential_key(document, content_hash)))
    return badges

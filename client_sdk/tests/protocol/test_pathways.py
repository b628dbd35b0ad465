"""The pathway progress rule: monotone, order-free, distinct, and the same on every device."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wallet_protocol.pathways import (
    HeldBadge,
    InvalidPathway,
    PathwayRule,
    Step,
    credential_document,
    held_badge,
    pathway_rule,
    progress,
)

ACHIEVEMENTS = [f"https://city.example/achievements/{name}" for name in "abcdef"]
SKILLS = [f"https://city.example/frameworks/leeds/items/{n}" for n in range(4)]

steps = st.one_of(
    st.builds(lambda a: Step("badge", achievements=(a,)), st.sampled_from(ACHIEVEMENTS)),
    st.lists(st.sampled_from(ACHIEVEMENTS), min_size=1, max_size=4, unique=True).flatmap(
        lambda options: st.builds(
            lambda n: Step("any_of", achievements=tuple(options), n=n), st.integers(1, len(options))
        )
    ),
    st.builds(lambda s: Step("skill", skills=(s,)), st.sampled_from(SKILLS)),
)
rules = st.builds(
    lambda s, ordered: PathwayRule("p", tuple(s), ordered), st.lists(steps, min_size=1, max_size=5), st.booleans()
)
badges = st.builds(
    HeldBadge,
    key=st.text("0123456789abcdef", min_size=4, max_size=6),
    achievement_id=st.one_of(st.none(), st.sampled_from(ACHIEVEMENTS)),
    skills=st.frozensets(st.sampled_from(SKILLS), max_size=2),
    issued_at=st.one_of(st.none(), st.integers(0, 50).map(float)),
)
wallets = st.lists(badges, max_size=12, unique_by=lambda badge: badge.key)


@given(rules, wallets, badges)
def test_adding_a_credential_never_lowers_progress(rule: PathwayRule, held: list[HeldBadge], extra: HeldBadge) -> None:
    held = [badge for badge in held if badge.key != extra.key]
    before = progress(rule, held)
    after = progress(rule, [*held, extra])
    assert after.steps_done >= before.steps_done
    for old, new in zip(before.steps, after.steps, strict=True):
        assert new.have >= old.have
        assert new.done or not old.done
    assert after.complete or not before.complete


@given(rules, wallets, st.randoms(use_true_random=False))
def test_arrival_order_and_duplicates_do_not_matter(rule: PathwayRule, held: list[HeldBadge], rnd) -> None:
    shuffled = list(held)
    rnd.shuffle(shuffled)
    assert progress(rule, held) == progress(rule, shuffled + held[:3])


@given(st.lists(st.sampled_from(ACHIEVEMENTS[:3]), min_size=1, max_size=10))
def test_any_n_of_counts_distinct_badges_not_credentials(earned: list[str]) -> None:
    rule = PathwayRule("p", (Step("any_of", achievements=tuple(ACHIEVEMENTS[:3]), n=3),))
    held = [HeldBadge(f"cred-{i}", achievement) for i, achievement in enumerate(earned)]
    result = progress(rule, held)
    assert result.steps[0].have == len(set(earned))
    assert result.complete == (len(set(earned)) == 3)


def test_a_skill_step_is_done_by_any_badge_aligned_to_the_skill_and_says_which() -> None:
    rule = PathwayRule("p", (Step("badge", achievements=(ACHIEVEMENTS[0],)), Step("skill", skills=(SKILLS[1],))))
    held = [HeldBadge("c1", ACHIEVEMENTS[0]), HeldBadge("c2", ACHIEVEMENTS[4], frozenset({SKILLS[1]}))]
    result = progress(rule, held)
    assert result.complete
    assert [step.by for step in result.steps] == [("c1",), ("c2",)]
    assert result.completing_credentials == ("c1", "c2")


def test_an_ordered_pathway_counts_a_badge_only_after_the_step_before_it() -> None:
    rule = PathwayRule(
        "p", (Step("badge", achievements=(ACHIEVEMENTS[0],)), Step("badge", achievements=(ACHIEVEMENTS[1],))), True
    )
    early_second = [HeldBadge("c1", ACHIEVEMENTS[0], issued_at=20.0), HeldBadge("c2", ACHIEVEMENTS[1], issued_at=10.0)]
    result = progress(rule, early_second)
    assert (result.steps_done, result.next_step, result.complete) == (1, 1, False)
    in_order = [*early_second, HeldBadge("c3", ACHIEVEMENTS[1], issued_at=30.0)]
    assert progress(rule, in_order).complete
    assert progress(PathwayRule("p", rule.steps, False), early_second).complete


def test_progress_reads_achievement_alignment_and_date_from_a_credential_and_a_vc_jwt() -> None:
    credential = {
        "validFrom": "2026-11-20T10:00:00Z",
        "credentialSubject": {
            "achievement": {"id": ACHIEVEMENTS[0], "alignment": [{"targetUrl": SKILLS[0], "targetName": "x"}]}
        },
    }
    badge = held_badge(credential, key="k")
    assert (badge.achievement_id, badge.skills, badge.issued_at) == (
        ACHIEVEMENTS[0],
        frozenset({SKILLS[0]}),
        dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC).timestamp(),
    )
    import base64

    payload = base64.urlsafe_b64encode(json.dumps({"vc": credential}).encode()).decode().rstrip("=")
    assert credential_document(f"eyJhbGciOiJFZERTQSJ9.{payload}.sig") == credential


bad_steps = st.one_of(
    st.none(),
    st.integers(),
    st.text(),
    st.fixed_dictionaries({"kind": st.text()}),
    st.fixed_dictionaries(
        {"kind": st.just("any_of"), "achievements": st.lists(st.text(), max_size=3), "n": st.integers()}
    ),
    st.fixed_dictionaries({"kind": st.just("badge"), "achievements": st.lists(st.integers(), min_size=1)}),
    st.fixed_dictionaries({"kind": st.just("skill"), "skills": st.just([])}),
)


@given(st.lists(bad_steps, max_size=4), st.one_of(st.booleans(), st.text()))
def test_a_bad_pathway_definition_is_refused_with_the_field_never_a_crash(data: list, ordered) -> None:
    try:
        rule = pathway_rule({"steps": data, "ordered": ordered})
    except InvalidPathway as refused:
        assert refused.field
    else:
        assert 1 <= len(rule.steps) <= 50


def test_a_pathway_needs_steps() -> None:
    with pytest.raises(InvalidPathway) as refused:
        pathway_rule({"steps": []})
    assert refused.value.field == "steps"

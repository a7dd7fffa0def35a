"""Properties of the tag plan, over any answers, any earlier tags and both systems' formats.

- After a push, planning again gives nothing to do (no write call on the next run).
- No tag is both added and removed; only our own tags are ever removed.
- Tags compare case-insensitively (Shopify keeps ``NPS:Promoter`` as typed, and it is ours).
- Applying a change to whatever the customer carried leaves exactly the desired tags of ours,
  and every other app's tags untouched.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from hypothesis import given
from hypothesis import strategies as st

from nps_engine.config.settings import TagFormat, TagSettings
from nps_engine.records import Category
from nps_engine.scoring import category_of
from nps_engine.tag_plan import NpsState, PushedState, desired_tags, is_ours, plan

DEFAULTS = TagSettings()
PREFIXES = ("nps", "csat", "q4-nps", "x", "nps_2")
FORMATS = st.sampled_from(
    [
        base.model_copy(update={"prefix": prefix})
        for base in (DEFAULTS.shopify, DEFAULTS.zendesk)
        for prefix in PREFIXES
    ]
)


@st.composite
def states(draw: st.DrawFn) -> NpsState:
    score = draw(st.integers(0, 10))
    return NpsState(
        customer_id=draw(st.integers(1, 50)),
        email=draw(st.none() | st.just("a@example.com")),
        score=score,
        category=category_of(score),
        responded_at=draw(st.datetimes(timezones=st.just(UTC), min_value=datetime(2020, 1, 1))),
        churn_risk=draw(st.booleans()),
    )


@cache
def every_tag_of(tag_format: TagFormat) -> list[str]:
    """Every tag this format can produce, for any answer."""
    tags = set()
    for score in range(11):
        for churn in (False, True):
            state = NpsState(1, None, score, category_of(score), datetime(2026, 1, 1), churn)
            tags.update(desired_tags(state, tag_format))
    return sorted(tags)


def any_case(tag: str, draw: st.DrawFn) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(tag), max_size=len(tag)))
    return "".join(c.upper() if flip else c for c, flip in zip(tag, flips, strict=True))


FOREIGN = st.sampled_from(["vip", "wholesale", "newsletter", "nps-fan", "npsx:promoter", "score:9"])


@st.composite
def earlier_tags(draw: st.DrawFn, tag_format: TagFormat) -> tuple[str, ...]:
    ours = draw(st.lists(st.sampled_from(every_tag_of(tag_format)), max_size=4))
    foreign = draw(st.lists(FOREIGN, max_size=3))
    return tuple(any_case(tag, draw) for tag in [*ours, *foreign])


@st.composite
def situations(draw: st.DrawFn) -> tuple[TagFormat, list[NpsState], dict[int, PushedState], bool]:
    tag_format = draw(FORMATS)
    by_customer = {s.customer_id: s for s in draw(st.lists(states(), max_size=6))}
    pushed = {
        customer: PushedState(draw(earlier_tags(tag_format)), {})
        for customer in draw(st.sets(st.integers(1, 50), max_size=6))
    }
    return tag_format, list(by_customer.values()), pushed, draw(st.booleans())


@given(situations())
def test_planning_again_after_a_push_gives_an_empty_plan(
    situation: tuple[TagFormat, list[NpsState], dict[int, PushedState], bool],
) -> None:
    tag_format, answers, pushed, with_fields = situation
    changes = plan(answers, pushed, tag_format, with_fields=with_fields)
    after = dict(pushed)
    for change in changes:
        after[change.customer_id] = PushedState(change.desired, dict(change.fields))
    assert plan(answers, after, tag_format, with_fields=with_fields) == []


@given(situations())
def test_no_tag_is_both_added_and_removed_and_only_ours_are_removed(
    situation: tuple[TagFormat, list[NpsState], dict[int, PushedState], bool],
) -> None:
    tag_format, answers, pushed, with_fields = situation
    for change in plan(answers, pushed, tag_format, with_fields=with_fields):
        assert not {t.lower() for t in change.add} & {t.lower() for t in change.remove}
        assert all(is_ours(tag, tag_format) for tag in change.remove)
        assert all(tag == tag.lower() for tag in change.add + change.remove)


@given(situations())
def test_applying_a_change_leaves_the_desired_tags_and_other_apps_tags(
    situation: tuple[TagFormat, list[NpsState], dict[int, PushedState], bool],
) -> None:
    tag_format, answers, pushed, _ = situation
    changes = {c.customer_id: c for c in plan(answers, pushed, tag_format)}
    for state in answers:
        before = {t.lower() for t in pushed.get(state.customer_id, PushedState((), {})).tags}
        change = changes.get(state.customer_id)
        after = (before - set(change.remove)) | set(change.add) if change else before
        ours = {tag for tag in after if is_ours(tag, tag_format)}
        assert ours == set(desired_tags(state, tag_format))
        assert after - ours == {tag for tag in before if not is_ours(tag, tag_format)}


@given(st.sampled_from([DEFAULTS.shopify, DEFAULTS.zendesk]), states(), st.data())
def test_tags_we_pushed_in_another_case_are_still_ours_and_not_rewritten(
    tag_format: TagFormat, state: NpsState, data: st.DataObject
) -> None:
    shouted = tuple(any_case(tag, data.draw) for tag in desired_tags(state, tag_format))
    assert all(is_ours(tag, tag_format) for tag in shouted)
    pushed = {state.customer_id: PushedState(shouted, {})}
    assert plan([state], pushed, tag_format) == []


def test_a_promoter_turned_detractor_swaps_the_category_and_score_tags() -> None:
    """The example behind the properties, written out."""
    shopify = DEFAULTS.shopify
    was = PushedState(("NPS:Promoter", "nps-score:9", "vip"), {})
    now = NpsState(1, "a@example.com", 3, Category.DETRACTOR, datetime(2026, 1, 1), True)
    (change,) = plan([now], {1: was}, shopify)
    assert change.add == ("nps:detractor", "nps-score:3", "nps:churn-risk")
    assert change.remove == ("nps-score:9", "nps:promoter")

"""Custom segment rules: refused at config load with the path of the offending key."""

from __future__ import annotations

from typing import Any

import pytest

from nps_engine.config.loading import ConfigError, parse_settings
from nps_engine.segment_rules import RuleError, parse_rule


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        ({"colour": "red"}, "colour", "unknown feature 'colour'"),
        ({"any": [{"tag": "vip"}, {"colour": "red"}]}, "any[1].colour", "unknown feature"),
        ({"all": []}, "all", "'all' needs a non-empty list of rules"),
        ({"any": {"tag": "vip"}}, "any", "'any' needs a non-empty list of rules"),
        ({"score": {"gt": "high"}}, "score.gt", "expected a whole number"),
        ({"score": {"gt": True}}, "score.gt", "expected a whole number"),
        ({"score": {"between": [1, 2]}}, "score.between", "operator 'between' is not allowed"),
        ({"returned": {"gt": True}}, "returned.gt", "operator 'gt' is not allowed for 'returned'"),
        ({"returned": "yes"}, "returned.eq", "expected true or false"),
        ({"category": "fan"}, "category.eq", "'fan' is not a category"),
        ({"country": {"in": []}}, "country.in", "'in' needs a non-empty list"),
        ({"country": {"in": ["FR", 3]}}, "country.in[1]", "expected text"),
        ({"total_spent": {"gte": "lots"}}, "total_spent.gte", "expected an amount"),
        ({"tag": {"lt": "vip"}}, "tag.lt", "operator 'lt' is not allowed for 'tag'"),
        ({"orders_count": {}}, "orders_count", "empty condition"),
        (
            {"all": [{"any": [{"score": 9}, {"score_drop": {"gte": 2.5}}]}]},
            "all[0].any[1].score_drop.gte",
            "expected a whole number",
        ),
    ],
)
def test_bad_rule_is_refused_with_its_path(rule: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse_rule(rule)
    assert raised.value.path == path
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"{path}: ")


@pytest.mark.parametrize("rule", [{}, [], "vip", None])
def test_rule_must_be_a_non_empty_mapping(rule: object) -> None:
    with pytest.raises(RuleError, match="non-empty mapping"):
        parse_rule(rule)


def test_bad_custom_segment_names_the_yaml_key_at_config_load() -> None:
    document = {
        "store": {"id": "shop"},
        "segments": {
            "custom": [
                {"name": "vip", "rule": {"tag": "vip"}},
                {"name": "french", "rule": {"any": [{"country": "FR"}, {"colour": "blue"}]}},
            ]
        },
    }
    with pytest.raises(ConfigError) as raised:
        parse_settings(document, {})
    [problem] = raised.value.problems
    assert problem.startswith("segments.custom[1].rule: any[1].colour: unknown feature 'colour'")


def test_custom_segment_cannot_reuse_a_built_in_name() -> None:
    document = {
        "store": {"id": "shop"},
        "segments": {"custom": [{"name": "churn_risk", "rule": {"score": {"lte": 6}}}]},
    }
    with pytest.raises(ConfigError, match=r"segments\.custom: .*'churn_risk' is used twice"):
        parse_settings(document, {})


def test_valid_rule_keeps_its_source_for_display() -> None:
    rule = {"all": [{"country": {"in": ["FR", "BE"]}}, {"category": "detractor"}]}
    assert parse_rule(rule).source == rule


@pytest.mark.parametrize(
    ("rule", "properties", "matches"),
    [
        ({"property": {"Plan": "PRO"}}, {"plan": "pro"}, True),
        ({"property": {"plan": "pro"}}, {"plan": "basic"}, False),
        ({"property": {"plan": "pro"}}, {}, False),
        ({"property": {"plan": {"ne": "pro"}}}, {}, True),
        ({"property": {"plan": {"in": ["pro", "plus"]}}}, {"plan": "plus"}, True),
        ({"property": {"plan": {"not_in": ["pro"]}, "tags": "vip"}}, {"tags": "vip"}, True),
        ({"property": {"age": 30}}, {"age": "30"}, True),
    ],
)
def test_property_rules_compare_imported_properties_as_text(
    rule: dict[str, Any], properties: dict[str, str], matches: bool
) -> None:
    from datetime import UTC, datetime

    from nps_engine.records import SurveyKind
    from nps_engine.segments import ResponseFacts

    at = datetime(2026, 1, 1, tzinfo=UTC)
    facts = ResponseFacts(
        "c:1", 1, None, 9, SurveyKind.TRANSACTIONAL, at, at, properties=properties
    )
    assert parse_rule(rule).matches(facts) is matches


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"property": "pro"}, "property: expected property names with their condition"),
        ({"property": {"plan": {"gt": "a"}}}, "property.plan.gt: operator 'gt' is not allowed"),
    ],
)
def test_bad_property_rules_name_their_path(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rule(rule)

"""Item 7: hostile or mistaken YAML is an exit-2 message naming the key or line, quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jobs.cli.app import app
from nps_engine.config import ConfigError, load_settings

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{k}: &{k} [{', '.join([f'*{p}'] * 9)}]\n" for p, k in zip("abcdefgh", "bcdefghi", strict=True)
)
BASE = "store: {id: shop}\ndatabase: {url: 'sqlite:///nps.db'}\n"


def nps_check(tmp_path: Path, text: str) -> Result:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(app, ["--config", str(path), "check"], env={})


def test_a_billion_laughs_file_is_refused_in_a_moment(tmp_path: Path) -> None:
    started = time.monotonic()
    result = nps_check(tmp_path, BASE + LAUGHS)
    assert result.exit_code == 2
    assert "expands to more than" in result.output
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x: " + "[" * 20_000 + "]" * 20_000 + "\n", "nested more than"),
        ("store: {id: shop}\n? [a, b]\n: 1\n", "not a list or mapping"),
        (BASE + "survey: {throttle_days: 100000000000}\n", "survey.throttle_days: must be <="),
        (
            BASE + "segments:\n  custom:\n    - name: odd\n      rule: {total_spent: {gt: NaN}}\n",
            "segments.custom.0.rule",
        ),
    ],
)
def test_each_bad_file_is_an_exit_2_naming_the_place(
    tmp_path: Path, text: str, expected: str
) -> None:
    result = nps_check(tmp_path, text)
    assert result.exit_code == 2, result.output
    assert expected in result.output.replace("[0]", ".0")


def test_a_rule_400_all_levels_deep_is_refused_naming_the_segment(tmp_path: Path) -> None:
    rule = "{country: FR}"
    for _ in range(400):
        rule = "{all: [" + rule + "]}"
    result = nps_check(
        tmp_path, BASE + f"segments:\n  custom:\n    - name: deep\n      rule: {rule}\n"
    )
    assert result.exit_code == 2
    assert "nested more than" in result.output


def test_a_rule_too_deep_for_yaml_limits_is_still_refused_by_the_rule_parser() -> None:
    from nps_engine.segment_rules import RuleError, parse_rule

    rule: dict[str, object] = {"country": "FR"}
    for _ in range(30):
        rule = {"all": [rule]}
    with pytest.raises(RuleError, match="nested more than"):
        parse_rule(rule)


def test_merge_keys_are_supported_and_may_be_overridden(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "survey: &survey {delay_days: 3, max_age_days: 40}\n"
        "stores:\n"
        "  - store: {id: first}\n"
        "  - store: {id: second}\n"
        "    survey:\n      <<: *survey\n      delay_days: 5\n",
        encoding="utf-8",
    )
    first, second = load_settings(path, env={})
    assert (first.survey.delay_days, first.survey.max_age_days) == (3, 40)
    assert (second.survey.delay_days, second.survey.max_age_days) == (5, 40)


def test_a_key_repeated_next_to_a_merge_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "store: &s {id: shop}\nsurvey:\n  delay_days: 1\n  delay_days: 2\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="already set"):
        load_settings(path, env={})

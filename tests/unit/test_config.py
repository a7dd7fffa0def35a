"""Configuration errors: each names its key path, none leaks a secret, the CLI exits with 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jobs.cli.app import app
from nps_engine.config import ConfigError, Settings, load_settings, parse_settings

SECRET = "shpat_very-secret-token-123"
BASE = "store: {id: shop}\n"


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(yaml.safe_load(text), env or {})
    return caught.value.problems


def load(text: str, env: dict[str, str] | None = None) -> list[Settings]:
    return parse_settings(yaml.safe_load(text), env or {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # unknown keys, with the nearest known key suggested
        (
            BASE + "survey: {delay_day: 3}",
            "survey.delay_day: unknown key (did you mean 'delay_days'?)",
        ),
        (BASE + "databse: {url: x}", "databse: unknown key (did you mean 'database'?)"),
        (
            BASE + "survey: {relationship: {enabeld: true}}",
            "survey.relationship.enabeld: unknown key",
        ),
        (BASE + "colour: red", "colour: unknown key"),
        # wrong types
        (BASE + "survey: {delay_days: soon}", "survey.delay_days: must be a whole number"),
        (BASE + "survey: {delay_days: 2.5}", "survey.delay_days: must be a whole number"),
        (BASE + "tags: {enabled: maybe}", "tags.enabled: must be true or false"),
        (BASE + "survey: 5", "survey: must be a mapping of keys"),
        ("store:\n", "store: must be a mapping of keys"),
        (
            BASE + "zendesk: {subdomain: x, oauth_token: t, followup: {tags: 5}}",
            "zendesk.followup.tags: must be a list",
        ),
        (
            BASE + "email: {from: a@b.co, security: tls}",
            "email.security: must be one of 'starttls', 'ssl' or 'none'",
        ),
        (
            BASE + "web: {public_url: nps.example.com, secret_key: 0123456789abcdefg}",
            "web.public_url: must be a full URL such as https://nps.example.com",
        ),
        (
            BASE + "survey: {quiet_hours: {start: '25:00', end: '08:00'}}",
            "survey.quiet_hours.start: must be a time of day",
        ),
        # bounds
        (BASE + "survey: {delay_days: -1}", "survey.delay_days: must be >= 0"),
        (BASE + "email: {from: a@b.co, smtp_port: 70000}", "email.smtp_port: must be <= 65535"),
        (BASE + "survey: {delay_days: 40}", "survey: max_age_days must be greater than delay_days"),
        (
            BASE + "segments: {churn_risk: {max_score: 11}}",
            "segments.churn_risk.max_score: must be <= 10",
        ),
        # formats, explained
        (
            "store: {id: My Store}",
            "store.id: must be 1 to 63 lowercase letters, digits, '-' or '_'",
        ),
        (
            BASE + "shopify: {shop: 'https://x.myshopify.com', access_token: t}",
            "shopify.shop: must be the shop's myshopify domain",
        ),
        (
            BASE + "shopify: {shop: x, access_token: t, api_version: '2026-02'}",
            "shopify.api_version: must be a Shopify API version such as '2026-01'",
        ),
        (BASE + "email: {from: nobody}", "email.from: must be an email address"),
        (BASE + "themes: {model: bert}", "themes.model: must be one of 'use' or 'e5'"),
        ("store: {id: s, brand_color: green}", "store.brand_color: must be a colour"),
        (
            "store: {id: s, timezone: Mars/Olympus}",
            "store.timezone: unknown time zone 'Mars/Olympus'",
        ),
        ("store: {id: s, language: english}", "store.language: must be a two-letter language code"),
        (
            BASE + "zendesk: {subdomain: x}",
            "zendesk: set either 'email' and 'api_token', or 'oauth_token'",
        ),
        (
            BASE + "tags: {zendesk: {category: 'nps:{category}', score: null, churn_risk: null}}",
            "tags.zendesk: 'nps:{category}' makes Zendesk tag 'nps:promoter'",
        ),
        # required
        ("survey: {delay_days: 2}", "store: is required"),
        (BASE + "web: {secret_key: 0123456789abcdefg}", "web.public_url: is required"),
    ],
)
def test_error_names_the_key_path(text: str, expected: str) -> None:
    assert any(problem.startswith(expected) for problem in problems(text)), problems(text)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "{country: {gt: FR}}",
            "segments.custom[0].rule: country.gt: operator 'gt' is not allowed",
        ),
        ("{any: [{spend: 3}]}", "segments.custom[0].rule: any[0].spend: unknown feature 'spend'"),
        ("{score: {gte: high}}", "segments.custom[0].rule: score.gte: expected a whole number"),
        ("{category: happy}", "segments.custom[0].rule: category.eq: 'happy' is not a category"),
        ("{}", "segments.custom[0].rule: a rule must be a non-empty mapping"),
    ],
)
def test_custom_segment_rule_errors_point_into_the_rule(rule: str, expected: str) -> None:
    (problem,) = problems(BASE + f"segments: {{custom: [{{name: vip, rule: {rule}}}]}}")
    assert problem.startswith(expected)


def test_custom_segment_names_must_not_collide_with_built_in_ones() -> None:
    (problem,) = problems(BASE + "segments: {custom: [{name: returned, rule: {tag: vip}}]}")
    assert problem == "segments.custom: segment name 'returned' is used twice"


def test_every_problem_is_reported_at_once() -> None:
    found = problems(BASE + "survey: {delay_days: -1, throttle_days: x}\ntags: {enabled: 3}")
    assert {p.split(":")[0] for p in found} == {
        "survey.delay_days",
        "survey.throttle_days",
        "tags.enabled",
    }


def test_env_references_are_substituted() -> None:
    (settings,) = load(
        BASE
        + "shopify: {shop: x, access_token: '${TOKEN}'}\ndatabase: {url: 'sqlite:///${DIR}/n.db'}",
        {"TOKEN": SECRET, "DIR": "/data"},
    )
    assert settings.shopify is not None
    assert settings.shopify.access_token.get_secret_value() == SECRET
    assert settings.database.url == "sqlite:////data/n.db"
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.shopify)


def test_missing_env_variables_are_each_named_with_their_key() -> None:
    found = problems(
        BASE + "shopify: {shop: x, access_token: '${A}'}\nweb: {public_url: 'https://x', "
        "secret_key: '${B}'}"
    )
    assert found == [
        "shopify.access_token: environment variable A is not set",
        "web.secret_key: environment variable B is not set",
    ]


@pytest.mark.parametrize(
    "text",
    [
        BASE + "web: {public_url: 'https://x', secret_key: '${S}'}",  # too short
        BASE + "shopify: {shop: '${S}', access_token: t}",  # a secret in the wrong key
        BASE + "email: {from: a@b.co, smtp_port: '${S}'}",
        BASE + "survey: {delay_days: '${S}'}",
    ],
)
def test_secret_values_never_appear_in_errors(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(yaml.safe_load(text), {"S": "Sx9/secret"})
    assert "Sx9/secret" not in str(caught.value)


def test_stores_inherit_shared_sections_and_override_them() -> None:
    first, second = load(
        "survey: {delay_days: 5, throttle_days: 60}\n"
        "database: {url: 'sqlite:///all.db'}\n"
        "stores:\n"
        "  - store: {id: fr}\n"
        "  - store: {id: uk, timezone: Europe/London}\n"
        "    survey: {delay_days: 3}\n"
    )
    assert (first.store.id, first.survey.delay_days, first.survey.throttle_days) == ("fr", 5, 60)
    assert (second.store.id, second.survey.delay_days, second.survey.throttle_days) == ("uk", 3, 60)
    assert first.database.url == second.database.url == "sqlite:///all.db"


def test_store_errors_are_prefixed_with_their_position() -> None:
    found = problems("stores: [{store: {id: a}}, {store: {id: b}, survey: {delay_days: -2}}]")
    assert found == ["stores[1].survey.delay_days: must be >= 0"]


def test_duplicate_store_ids_are_refused() -> None:
    found = problems("stores: [{store: {id: a}}, {store: {id: b}}, {store: {id: a}}]")
    assert found == [
        "stores[2].store.id: 'a' is already the id of stores[0] (each store needs its own id)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stores: []", "stores: must be a non-empty list of stores"),
        ("stores: [5]", "stores[0]: must be a mapping"),
        ("- a\n- b\n", "the file must be a YAML mapping of sections"),
        ("", "the file must be a YAML mapping of sections"),
    ],
)
def test_malformed_file_shapes(text: str, expected: str) -> None:
    (problem,) = problems(text)
    assert problem.startswith(expected)


def test_bad_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("store:\n  id: shop\nsurvey:\n  delay_days: [7\n  throttle_days: 90\n")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: not valid YAML"):
        load_settings(path)


def test_unreadable_or_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        BASE + "survey: {delay_day: 3}",
        "store: {id: Bad Id}",
        "store: {id: s\n",  # not YAML
        BASE + "shopify: {shop: x, access_token: '${NOT_SET_ANYWHERE}'}",
    ],
)
def test_cli_exits_2_on_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["--config", str(path), "check"], env={})
    assert result.exit_code == 2
    assert "invalid configuration" in result.stderr


def test_cli_error_does_not_print_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + "web: {public_url: 'https://x', secret_key: '${NPS_SECRET_KEY}'}\n")
    result = CliRunner().invoke(
        app, ["--config", str(path), "check"], env={"NPS_SECRET_KEY": "tiny-secret"}
    )
    assert result.exit_code == 2
    assert "web.secret_key: must be at least 16 characters" in result.stderr
    assert "tiny-secret" not in result.output


def test_a_key_written_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    from nps_engine.config import ConfigError, load_settings

    path = tmp_path / "config.yaml"
    path.write_text("store: {id: a}\nsurvey:\n  delay_days: 3\n  delay_days: 5\n")
    with pytest.raises(ConfigError, match="line 4: 'delay_days' is already set at line 3"):
        load_settings(path)


def test_report_caution_settings_have_defaults_and_are_checked() -> None:
    (settings,) = load(BASE)
    assert (settings.report.min_compare_n, settings.report.window_months) == (10, 3)
    found = problems(BASE + "report: {min_compare_n: 0, window_months: 1}")
    assert {p.split(":")[0] for p in found} == {"report.min_compare_n", "report.window_months"}


@pytest.mark.parametrize(
    ("shopify", "message"),
    [
        (
            "{shop: x}",
            "shopify: set 'client_id' and 'client_secret' (a Dev Dashboard app) or 'access_token'",
        ),
        (
            "{shop: x, client_id: c, client_secret: s, access_token: t}",
            "shopify: set either 'client_id' and 'client_secret' (a Dev Dashboard app) or "
            "'access_token' (an app created in the store admin), not both",
        ),
        ("{shop: x, client_id: c}", "shopify: 'client_secret' is missing"),
        ("{shop: x, client_secret: s}", "shopify: 'client_id' is missing"),
    ],
)
def test_shopify_access_is_exactly_one_of_app_credentials_or_legacy_token(
    shopify: str, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        parse_settings(yaml.safe_load(BASE + "shopify: " + shopify), {})
    assert message in str(error.value)


def test_a_dev_dashboard_app_is_configured_by_client_id_and_secret() -> None:
    (settings,) = parse_settings(
        yaml.safe_load(BASE + "shopify: {shop: x, client_id: c, client_secret: '${S}'}"),
        {"S": "shpss_secret_value"},
    )
    assert settings.shopify is not None
    assert settings.shopify.access_token is None
    assert "shpss_secret_value" not in repr(settings)


@pytest.mark.parametrize(
    ("rewards", "message"),
    [
        (
            "{promoter_discount: {enabled: true}}",
            "rewards.promoter_discount: set 'percentage' or 'fixed_amount'",
        ),
        (
            "{promoter_discount: {percentage: 10, fixed_amount: 5}}",
            "rewards.promoter_discount: set either 'percentage' or 'fixed_amount', not both",
        ),
        ("{promoter_discount: {percentage: 150}}", "rewards.promoter_discount.percentage"),
        ("{promoter_discount: {code_prefix: 'thanks!'}}", "rewards.promoter_discount.code_prefix"),
    ],
)
def test_promoter_discount_settings_are_checked(rewards: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_settings(yaml.safe_load(BASE + "rewards: " + rewards), {})
    assert message in str(error.value)


def test_a_dev_dashboard_apps_webhooks_are_checked_with_its_client_secret() -> None:
    app = "shopify: {shop: x, client_id: c, client_secret: app-secret}"
    (settings,) = parse_settings(yaml.safe_load(BASE + app), {})
    assert settings.shopify is not None
    assert settings.shopify.signing_secret == "app-secret"
    explicit = "shopify: {shop: x, client_id: c, client_secret: s, webhook_secret: other}"
    (settings,) = parse_settings(yaml.safe_load(BASE + explicit), {})
    assert settings.shopify is not None
    assert settings.shopify.signing_secret == "other"

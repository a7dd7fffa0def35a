"""Survey languages: chosen from the customer's locale, extended by the store, overridable."""

from __future__ import annotations

from pathlib import Path

import pytest

from nps_engine.config.settings import Settings
from nps_engine.config.texts import load_catalog
from nps_engine.survey_texts import TextsError


def settings(**survey: object) -> Settings:
    return Settings.model_validate(
        {"store": {"id": "s", "name": "Café Ô", "language": "fr"}, "survey": survey}
    )


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("fr-CA", "fr"),
        ("fr", "fr"),
        ("en-GB", "en"),
        ("EN_us", "en"),
        ("de-DE", "fr"),
        (None, "fr"),
        ("", "fr"),
    ],
)
def test_language_follows_the_shopify_locale_then_the_store_default(
    locale: str | None, language: str
) -> None:
    assert load_catalog(settings()).for_locale(locale).language == language


def test_default_question_follows_nps_convention_in_both_languages() -> None:
    catalog = load_catalog(settings())
    assert catalog.for_locale("en")("question") == (
        "How likely is it that you would recommend Café Ô to a friend or colleague?"
    )
    assert catalog.for_locale("fr")("question") == (
        "Quelle est la probabilité que vous recommandiez Café Ô à un ami ou un collègue ?"
    )
    assert catalog.for_locale("en")("scale_low") == "0 = not at all likely"
    assert catalog.for_locale("en")("scale_high") == "10 = extremely likely"


def test_config_overrides_one_text_and_keeps_the_others() -> None:
    catalog = load_catalog(settings(texts={"en": {"subject": "{store} wants your opinion"}}))
    english = catalog.for_locale("en")
    assert english("subject") == "Café Ô wants your opinion"
    assert english("question").startswith("How likely")


def test_a_store_adds_a_language_with_one_file(tmp_path: Path) -> None:
    english = (Path(__file__).resolve().parents[2] / "nps_engine/locales/en.yaml").read_text()
    (tmp_path / "locales").mkdir()
    (tmp_path / "locales" / "de.yaml").write_text(
        english.replace(
            "How likely is it that you would recommend {store} to a friend or colleague?",
            "Wie wahrscheinlich ist es, dass Sie {store} einem Freund oder Kollegen empfehlen?",
        )
    )
    catalog = load_catalog(settings(templates_dir=str(tmp_path)))
    assert catalog.for_locale("de-AT")("question").startswith("Wie wahrscheinlich")


def test_a_language_file_missing_keys_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "locales").mkdir()
    (tmp_path / "locales" / "it.yaml").write_text('subject: "Ciao"\n')
    with pytest.raises(TextsError, match=r"locale 'it' lacks keys: .*question"):
        load_catalog(settings(templates_dir=str(tmp_path)))


@pytest.mark.parametrize("text", ["{customer}", "{store.__class__}", "{unclosed"])
def test_unknown_placeholders_are_refused_with_the_key_path(text: str) -> None:
    with pytest.raises(TextsError, match=r"survey\.texts\.en\.subject"):
        load_catalog(settings(texts={"en": {"subject": text}}))

"""The words of survey emails and pages, per language, and which language a customer gets.

English and French ship in ``nps_engine/locales/*.yaml``; a store adds a language by dropping
``xx.yaml`` (same keys) into ``survey.templates_dir/locales/``, and overrides single texts with
``survey.texts.<lang>.<key>`` in config. A customer's Shopify locale (``fr-CA``) picks the
language by its first part; an unknown one falls back to ``store.language``, then English.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from nps_engine.config.settings import Settings

SHIPPED = Path(__file__).parent / "locales"
FALLBACK_LANGUAGE = "en"
# {code}, {value}, {until} and {minimum} are for the promoter reward texts.
PLACEHOLDERS = frozenset({"store", "name", "order", "score", "code", "value", "until", "minimum"})


class TextsError(ValueError):
    """A locale file or text override that cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class SurveyTexts:
    """One language's texts with the store's values filled in on demand."""

    language: str
    strings: Mapping[str, str]
    store: str

    def __call__(self, key: str, **values: object) -> str:
        return self.strings[key].format_map(
            {"store": self.store, "name": "", "order": "", "score": ""} | values
        )


@dataclass(frozen=True, slots=True)
class TextCatalog:
    languages: Mapping[str, Mapping[str, str]]
    default_language: str
    store: str

    def language_for(self, locale: str | None) -> str:
        wanted = (locale or "").replace("_", "-").split("-")[0].strip().lower()
        if wanted in self.languages:
            return wanted
        if self.default_language in self.languages:
            return self.default_language
        return FALLBACK_LANGUAGE

    def for_locale(self, locale: str | None) -> SurveyTexts:
        language = self.language_for(locale)
        return SurveyTexts(language, self.languages[language], self.store)


def load_catalog(settings: Settings) -> TextCatalog:
    """Shipped languages, then the store's locale files, then ``survey.texts`` overrides."""
    folders = [SHIPPED]
    if settings.survey.templates_dir:
        folders.append(Path(settings.survey.templates_dir) / "locales")
    languages: dict[str, dict[str, str]] = {}
    for folder in folders:
        for file in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
            languages.setdefault(file.stem, {}).update(_read_locale(file))
    reference = set(languages[FALLBACK_LANGUAGE])
    for language, strings in languages.items():
        missing = reference - set(strings)
        if missing:
            raise TextsError(f"locale '{language}' lacks keys: {', '.join(sorted(missing))}")
    for language, override in settings.survey.texts.items():
        values = {k: v for k, v in override.model_dump().items() if v is not None}
        for key, text in values.items():
            _check_placeholders(text, f"survey.texts.{language}.{key}")
        languages.setdefault(language, dict(languages[FALLBACK_LANGUAGE])).update(values)
    return TextCatalog(languages, settings.store.language, settings.store.name)


def _read_locale(file: Path) -> dict[str, str]:
    document = yaml.safe_load(file.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
        raise TextsError(f"{file}: must map text keys to strings")
    for key, text in document.items():
        _check_placeholders(text, f"{file.name}: {key}")
    return {str(k): v for k, v in document.items()}


def _check_placeholders(text: str, where: str) -> None:
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError as error:
        raise TextsError(f"{where}: {error} (write a literal brace as {{{{ or }}}})") from None
    unknown = names - PLACEHOLDERS
    if unknown:
        raise TextsError(
            f"{where}: unknown placeholder {{{sorted(unknown)[0]}}}; use {{store}}, {{name}}, "
            "{order} or {score}"
        )

"""The words of survey emails and pages, per language, and which language a customer gets.

English and French ship in ``nps_engine/locales/*.yaml``; a store adds a language by dropping
``xx.yaml`` (same keys) into ``survey.templates_dir/locales/``, and overrides single texts with
``survey.texts.<lang>.<key>`` in config. A customer's Shopify locale (``fr-CA``) picks the
language by its first part; an unknown one falls back to ``store.language``, then English.

Pure: the locale files are read by ``nps_engine.config.texts.load_catalog`` and handed over.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

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


def build_catalog(
    languages: Mapping[str, Mapping[str, str]],
    overrides: Mapping[str, Mapping[str, str]],
    default_language: str,
    store: str,
) -> TextCatalog:
    """Every language complete, every placeholder known, overrides applied on top.

    ``languages`` are the locale files already read (shipped ones first, then the store's);
    ``overrides`` are ``survey.texts``: per language, only the keys the store rewrote.
    """
    merged = {language: dict(strings) for language, strings in languages.items()}
    for language, strings in merged.items():
        for key, text in strings.items():
            check_placeholders(text, f"{language}.yaml: {key}")
    reference = set(merged[FALLBACK_LANGUAGE])
    for language, strings in merged.items():
        missing = reference - set(strings)
        if missing:
            raise TextsError(f"locale '{language}' lacks keys: {', '.join(sorted(missing))}")
    for language, values in overrides.items():
        for key, text in values.items():
            check_placeholders(text, f"survey.texts.{language}.{key}")
        merged.setdefault(language, dict(merged[FALLBACK_LANGUAGE])).update(values)
    return TextCatalog(merged, default_language, store)


def check_placeholders(text: str, where: str) -> None:
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

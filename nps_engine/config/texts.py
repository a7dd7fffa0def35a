"""Reads the survey texts' locale files: the shipped ones, then the store's, then overrides.

The one place the texts touch the disk; :mod:`nps_engine.survey_texts` checks and serves them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from nps_engine.config.settings import Settings
from nps_engine.survey_texts import TextCatalog, TextsError, build_catalog, check_placeholders

SHIPPED = Path(__file__).resolve().parents[1] / "locales"


def load_catalog(settings: Settings) -> TextCatalog:
    """Shipped languages, then the store's locale files, then ``survey.texts`` overrides."""
    folders = [SHIPPED]
    if settings.survey.templates_dir:
        folders.append(Path(settings.survey.templates_dir) / "locales")
    languages: dict[str, dict[str, str]] = {}
    for folder in folders:
        for file in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
            stat = file.stat()
            languages.setdefault(file.stem, {}).update(
                _read_locale(file, stat.st_mtime_ns, stat.st_size)
            )
    overrides = {
        language: {k: v for k, v in override.model_dump().items() if v is not None}
        for language, override in settings.survey.texts.items()
    }
    return build_catalog(languages, overrides, settings.store.language, settings.store.name)


@lru_cache(maxsize=64)
def _read_locale(file: Path, mtime_ns: int, size: int) -> dict[str, str]:
    """Parsed once per file version (modified time and size are part of the key, so an edited
    file is read again): a worker sends surveys for many stores, and parsing every locale at
    each send job cost more CPU than the job's own work. Callers must not change the result."""
    document = yaml.safe_load(file.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
        raise TextsError(f"{file}: must map text keys to strings")
    for key, text in document.items():
        check_placeholders(text, f"{file.name}: {key}")
    return {str(k): v for k, v in document.items()}

"""The store owner's YAML file, validated once into frozen settings (config.example.yaml).

``settings`` holds the models (frozen values, importable anywhere); ``loading`` reads the YAML file
and the environment. The loader is imported on first use of one of its names, so importing a
model (``from nps_engine.config.settings import SurveySettings``) never loads YAML nor reads
the environment.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nps_engine.config.settings import Settings

if TYPE_CHECKING:
    from nps_engine.config.loading import ConfigError, load_settings, parse_settings

__all__ = ["ConfigError", "Settings", "load_settings", "parse_settings"]

_FROM_LOADING = frozenset({"ConfigError", "load_settings", "parse_settings"})


def __getattr__(name: str) -> Any:
    if name in _FROM_LOADING:
        return getattr(importlib.import_module("nps_engine.config.loading"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The store owner's YAML file, validated once into frozen settings (config.example.yaml)."""

from nps_engine.config.loading import ConfigError, load_settings, parse_settings
from nps_engine.config.settings import Settings

__all__ = ["ConfigError", "Settings", "load_settings", "parse_settings"]

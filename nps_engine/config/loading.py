"""Reading the YAML file: ``${ENV_VAR}`` substitution, validation, and errors that name the key.

Every problem becomes one :class:`ConfigError` listing lines such as
``survey.delay_days: must be >= 0``; the CLI prints it and exits with code 2. Values are never
echoed in messages (they may be secrets).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nps_engine.config.settings import Settings

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` are ``key.path: message`` lines."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid configuration{where}:\n" + "\n".join(f"  {p}" for p in problems))


def load_settings(
    path: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> list[Settings]:
    """Read a config file: one store's settings, or several under ``stores:``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"config file not found: {file} (copy config.example.yaml to start)"], str(file)
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(
            [f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"], str(file)
        ) from None
    return parse_settings(document, os.environ if env is None else env, source=str(file))


def parse_settings(document: object, env: Mapping[str, str], source: str = "") -> list[Settings]:
    if not isinstance(document, dict):
        raise ConfigError(
            ["the file must be a YAML mapping of sections (store:, shopify:, ...)"], source
        )
    problems: list[str] = []
    document = dict(_substitute(document, env, "", problems))
    if problems:
        raise ConfigError(problems, source)
    stores = document.pop("stores", None)
    if stores is None:
        return [_validate(document, "", source)]
    if not isinstance(stores, list) or not stores:
        raise ConfigError(["stores: must be a non-empty list of stores"], source)
    settings = []
    for index, store in enumerate(stores):
        if not isinstance(store, dict):
            raise ConfigError([f"stores[{index}]: must be a mapping"], source)
        settings.append(_validate(_merge(document, store), f"stores[{index}].", source))
    ids = [s.store.id for s in settings]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError([f"stores: store.id '{d}' is used twice" for d in duplicates], source)
    return settings


def _validate(document: dict[str, Any], prefix: str, source: str) -> Settings:
    try:
        return Settings.model_validate(document)
    except ValidationError as exc:
        raise ConfigError([prefix + _describe(error) for error in exc.errors()], source) from None


def _describe(error: Any) -> str:
    path = _path(error["loc"])
    kind, ctx = error["type"], error.get("ctx") or {}
    messages = {
        "missing": "is required",
        "extra_forbidden": "unknown key",
        "greater_than_equal": f"must be >= {ctx.get('ge')}",
        "greater_than": f"must be > {ctx.get('gt')}",
        "less_than_equal": f"must be <= {ctx.get('le')}",
        "less_than": f"must be < {ctx.get('lt')}",
        "string_pattern_mismatch": "has an invalid format",
    }
    message = messages.get(kind) or str(error["msg"]).removeprefix("Value error, ")
    return f"{path}: {message}" if path else message


def _path(location: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _substitute(value: Any, env: Mapping[str, str], path: str, problems: list[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: _substitute(v, env, f"{path}.{k}" if path else str(k), problems)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute(v, env, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            problems.append(f"{path}: environment variable {name} is not set")
            return ""
        return env[name]

    return _ENV_REFERENCE.sub(replace, value)


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged

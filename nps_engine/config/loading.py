"""Reading the YAML file: ``${ENV_VAR}`` substitution, validation, and errors that name the key.

Every problem becomes one :class:`ConfigError` listing lines such as
``survey.delay_days: must be >= 0``; the CLI prints it and exits with code 2. Values are never
echoed in messages (they may be secrets).
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from nps_engine.config.settings import Settings

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class UnusableYaml(Exception):
    """A key repeated or not a name, nesting too deep, aliases expanding too far."""


# A config file is a few hundred values, a dozen levels deep. Aliases (&a / *a) are expanded
# when the document is used, so a 649-byte "billion laughs" file means a billion values: bounded.
MAX_VALUES = 100_000
MAX_DEPTH = 50
MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == MERGE_TAG:
                continue  # ``<<: *defaults``: merged below; its keys may be overridden here
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if not isinstance(key, Hashable) or isinstance(key, list | dict):
                raise UnusableYaml(
                    f"line {line}: a key must be a plain name, not a list or mapping"
                )
            if key in seen:
                raise UnusableYaml(
                    f"line {line}: '{key}' is already set at line {seen[key]} "
                    "(a repeated key would silently replace the first)"
                )
            seen[key] = line
        self.flatten_mapping(node)
        return super().construct_mapping(node, deep=deep)


def _check_size(text: str) -> None:
    """Refuse a document nested deeper than MAX_DEPTH or expanding to more than MAX_VALUES values.

    Reads the parser's events (no recursion, nothing built), giving each anchor the size of the
    node it names, so every alias counts as the whole value it will be expanded into.
    """
    anchors: dict[str, int] = {}
    # One frame per open collection: [anchor, values inside so far]
    stack: list[list[Any]] = []
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        size = 0
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) > MAX_DEPTH:
                line = _line(event)
                raise UnusableYaml(f"line {line}: nested more than {MAX_DEPTH} levels deep")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, anchors.get(event.anchor or "", 1)
        else:
            continue
        if anchor:
            anchors[anchor] = size
        if stack:
            stack[-1][1] += size
        else:
            total += size
        if total + sum(frame[1] for frame in stack) > MAX_VALUES:
            line = _line(event)
            raise UnusableYaml(
                f"line {line}: the document expands to more than {MAX_VALUES:,} values "
                "(aliases repeating aliases?)"
            )


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


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
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError([f"cannot read config file {file}: {reason}"], str(file)) from None
    try:
        _check_size(text)
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except UnusableYaml as duplicate:
        raise ConfigError([str(duplicate)], str(file)) from None
    except RecursionError:
        raise ConfigError([f"nested more than {MAX_DEPTH} levels deep"], str(file)) from None
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
    first_use: dict[str, int] = {}
    duplicates = []
    for index, item in enumerate(settings):
        if item.store.id in first_use:
            duplicates.append(
                f"stores[{index}].store.id: '{item.store.id}' is already the id of "
                f"stores[{first_use[item.store.id]}] (each store needs its own id)"
            )
        first_use.setdefault(item.store.id, index)
    if duplicates:
        raise ConfigError(duplicates, source)
    return settings


def _validate(document: dict[str, Any], prefix: str, source: str) -> Settings:
    """``Settings.model_validate(document)``, section by section: each section the file has is
    validated by its own model, one it leaves out takes its default, whose validator is never
    built. Building the validators of ~30 models is most of a command's start-up (``nps status``
    on a short config needs two), so a command pays for the sections its config has.

    Same settings and same errors, in the same order, as validating the whole document at once
    (pydantic lists the fields' errors in field order, then the unknown keys in file order).
    """
    errors: list[Any] = []
    sections: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        if name not in document:
            if field.is_required():
                errors.append({"type": "missing", "loc": (name,), "msg": "Field required"})
            continue
        value = document[name]
        if value is None and not field.is_required() and field.default is None:
            sections[name] = None  # an optional section written empty (``shopify:``)
            continue
        model = _section_at(Settings, name)
        assert model is not None  # every field of Settings is a section model
        try:
            sections[name] = model.model_validate(value)
        except ValidationError as exc:
            errors += [{**error, "loc": (name, *error["loc"])} for error in exc.errors()]
    for key in document:
        if not isinstance(key, str):
            errors.append({"type": "invalid_key", "loc": (key,), "msg": "Keys should be strings"})
        elif key not in Settings.model_fields:
            errors.append({"type": "extra_forbidden", "loc": (key,), "msg": "Extra inputs"})
    if errors:
        raise ConfigError([prefix + _describe(error) for error in errors], source)
    return Settings.model_construct(**sections)


# What each ``pattern`` in settings.py means, in words a store owner can act on.
_PATTERNS = {
    r"^[a-z0-9][a-z0-9_-]{0,62}$": "must be 1 to 63 lowercase letters, digits, '-' or '_', "
    "starting with a letter or digit (e.g. 'my-store')",
    r"^#[0-9a-fA-F]{6}$": 'must be a colour such as "#2f6f4f" (quote it: # starts a YAML comment)',
    r"^[a-z0-9][a-z0-9-]*(\.myshopify\.com)?$": "must be the shop's myshopify domain such as "
    "'my-store.myshopify.com' (no https://, no custom domain)",
    r"^(\d{4}-(01|04|07|10)|unstable)$": "must be a Shopify API version such as '2026-01' "
    "(quarterly: -01, -04, -07 or -10)",
    r"^[a-z0-9][a-z0-9-]*$": "must be the Zendesk subdomain only, such as 'mystore' for "
    "mystore.zendesk.com",
    r"^[^@\s]+@[^@\s]+$|^.+<[^@\s]+@[^@\s]+>$": "must be an email address such as "
    "'hello@example.com' or 'My Store <hello@example.com>'",
    r"^[a-z0-9][a-z0-9_]*$": "must be lowercase letters, digits and '_' (e.g. 'big_spenders')",
    r"^[a-z0-9][a-z0-9_-]*$": "must be lowercase letters, digits, '-' or '_' (e.g. 'nps')",
}


def _describe(error: Any) -> str:
    path = _path(error["loc"])
    message = _message(error)
    if error["type"] == "extra_forbidden":
        message += _suggestion(error["loc"])
    return f"{path}: {message}" if path else message


def _message(error: Any) -> str:
    """Pydantic's message, reworded; never the input value, which may be a secret."""
    kind, ctx = error["type"], error.get("ctx") or {}
    messages = {
        "missing": "is required",
        "extra_forbidden": "unknown key",
        "greater_than_equal": f"must be >= {ctx.get('ge')}",
        "greater_than": f"must be > {ctx.get('gt')}",
        "less_than_equal": f"must be <= {ctx.get('le')}",
        "less_than": f"must be < {ctx.get('lt')}",
        "string_pattern_mismatch": _PATTERNS.get(str(ctx.get("pattern")), "has an invalid format"),
        "int_parsing": "must be a whole number",
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "float_type": "must be a number",
        "bool_parsing": "must be true or false",
        "bool_type": "must be true or false",
        "string_type": "must be text (quote it if YAML reads it as a number or a date)",
        "dict_type": "must be a mapping of keys (indented 'key: value' lines)",
        "model_type": "must be a mapping of keys (indented 'key: value' lines)",
        "model_attributes_type": "must be a mapping of keys (indented 'key: value' lines)",
        "list_type": "must be a list (e.g. [a, b])",
        "tuple_type": "must be a list (e.g. [a, b])",
        "literal_error": f"must be one of {ctx.get('expected')}",
        "url_parsing": "must be a full URL such as https://nps.example.com",
        "url_scheme": "must be a URL starting with http:// or https://",
        "time_parsing": 'must be a time of day such as "08:30" (quoted)',
        "time_type": 'must be a time of day such as "08:30" (quoted)',
    }
    return messages.get(kind) or str(error["msg"]).removeprefix("Value error, ")


def _suggestion(location: tuple[Any, ...]) -> str:
    """`` (did you mean 'delay_days'?)`` for a misspelt key, from the keys its section allows."""
    model: Any = Settings
    for item in location[:-1]:
        model = _section_at(model, item)
        if model is None:
            return ""
    known = [field.alias or name for name, field in model.model_fields.items()]
    close = difflib.get_close_matches(str(location[-1]), known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _section_at(model: Any, item: Any) -> type[BaseModel] | None:
    """The settings model found one step down ``model`` at ``item`` (a key, or a list index)."""
    if isinstance(item, int):
        candidates: tuple[Any, ...] = (model,)
    elif isinstance(model, type) and issubclass(model, BaseModel):
        fields = {field.alias or name: field for name, field in model.model_fields.items()}
        if item not in fields:
            return None
        candidates = (fields[item].annotation,)
    else:
        return None
    while candidates:
        candidate, *rest = candidates
        candidates = tuple(rest)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        if isinstance(candidate, types.UnionType) or typing.get_origin(candidate) is not None:
            candidates += typing.get_args(candidate)
    return None


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

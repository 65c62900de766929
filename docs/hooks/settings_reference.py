"""MkDocs hook: the configuration reference, generated from the settings model.

``docs/configuration.md`` holds the marker ``<!-- settings-reference -->``; at build
time it is replaced by one table per group of ``flight_app.settings.Settings``, each
setting once, with its type, default, where that default comes from (the app, the
core's config dataclasses through ``CORE_SETTINGS``, the flight resilience policy
through ``FLIGHT_POLICY_SETTINGS``) and what the shipped TOML files change, its
validation (field constraints and the field validators' docstrings) and its meaning
(the attribute docstring under the field).

Groups are the comment blocks that open a paragraph of fields in the class body
(``# Serving``, ``# Passwords``, ...), so a new field, or a new group, shows up
without touching this file. ``tests/docs/test_settings_reference.py`` checks that
every field appears exactly once and has a docstring.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

MARKER = "<!-- settings-reference -->"
PAGE = "configuration.md"
ENVIRONMENTS = ("dev", "test", "prod")


@dataclass(frozen=True)
class Row:
    """One setting as the reference shows it."""

    name: str
    group: str
    variable: str
    type: str
    default: str
    source: str
    validation: str
    meaning: str


def _class_layout(cls: type) -> tuple[dict[str, str], dict[str, str]]:
    """Each field's group title and attribute docstring, read from the class source."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.ClassDef)
    fields: list[tuple[int, str]] = []
    docs: dict[str, str] = {}
    body = node.body
    for index, statement in enumerate(body):
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            name = statement.target.id
            fields.append((statement.lineno, name))
            following = body[index + 1] if index + 1 < len(body) else None
            if (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[name] = inspect.cleandoc(following.value.value)
    titles: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        previous = lines[number - 2].strip() if number >= 2 else ""
        if text.startswith("#") and previous == "":
            title = text.lstrip("#").strip().strip("-").strip()
            titles[number] = re.split(r"[(:;,.]", title, maxsplit=1)[0].strip() or "Other"
    groups: dict[str, str] = {}
    for lineno, name in fields:
        opened = [n for n in titles if n < lineno]
        groups[name] = titles[max(opened)] if opened else "Environment"
    return groups, docs


def _type(annotation: Any) -> str:
    """A short, readable type."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is typing.Annotated:
        return _type(args[0])
    if args and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return _type(inner[0]) if len(inner) == 1 else " \\| ".join(_type(a) for a in inner)
    if origin is list:
        return f"list of {_type(args[0])}"
    names = {"SecretStr": "secret", "Path": "path", "str": "string", "bool": "bool"}
    name = getattr(annotation, "__name__", str(annotation))
    return names.get(name, name)


def _value(value: Any) -> str:
    """A default as the reader would type it."""
    if value is None:
        return "unset"
    if type(value).__name__ == "SecretStr":
        return "a development value"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | tuple | frozenset | set):
        return f"`{sorted(value)}`" if value else "empty"
    return f"`{value}`"


def _constraints(field: Any) -> list[str]:
    """The field's declared bounds, length and pattern."""
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    found: list[str] = []
    for item in field.metadata:
        for attribute, symbol in words.items():
            bound = getattr(item, attribute, None)
            if bound is not None:
                found.append(
                    f"{symbol} {bound:g}" if isinstance(bound, float) else f"{symbol} {bound}"
                )
        for attribute, label in (("min_length", "length >="), ("max_length", "length <=")):
            length = getattr(item, attribute, None)
            if length is not None:
                found.append(f"{label} {length}")
        pattern = getattr(item, "pattern", None)
        if pattern:
            found.append(f"matches `{pattern}`")
    return found


def _validators(cls: Any) -> dict[str, list[str]]:
    """Each field's field validators, told by their docstrings."""
    found: dict[str, list[str]] = {}
    for name, decorator in cls.__pydantic_decorators__.field_validators.items():
        doc = inspect.getdoc(decorator.func)
        text = doc.splitlines()[0].rstrip(".") if doc else name.strip("_").replace("_", " ")
        for field in decorator.info.fields:
            found.setdefault(field, []).append(text)
    return found


def _toml_overrides(config_dir: Path) -> dict[str, dict[str, Any]]:
    """What each shipped ``<APP_ENV>.toml`` sets, by setting."""
    found: dict[str, dict[str, Any]] = {}
    for env in ENVIRONMENTS:
        path = config_dir / f"{env}.toml"
        if path.is_file():
            for key, value in tomllib.loads(path.read_text(encoding="utf-8")).items():
                found.setdefault(key, {})[env] = value
    return found


def rows() -> list[Row]:
    """Every setting of ``flight_app.settings.Settings``, in source order."""
    from flight_app import settings as module

    cls = module.Settings
    groups, docs = _class_layout(cls)
    validators = _validators(cls)
    overrides = _toml_overrides(module.DEFAULT_CONFIG_DIR)
    result: list[Row] = []
    for name, field in cls.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        if name in module.CORE_SETTINGS:
            section, attribute = module.CORE_SETTINGS[name]
            owner = module._SECTIONS[section]
            target = f"{owner.__module__.split('._')[0]}.{owner.__name__}"
            source = f"core: [`{owner.__name__}.{attribute}`][{target}]"
        elif name in module.FLIGHT_POLICY_SETTINGS:
            source = f"flight policy: `ResiliencePolicy.{module.FLIGHT_POLICY_SETTINGS[name]}`"
        else:
            source = "app"
        for env, value in overrides.get(name, {}).items():
            if _value(value) != _value(default):
                source += f"; `{env}.toml`: {_value(value)}"
        checks = _constraints(field) + validators.get(name, [])
        if name in module.CORE_SETTINGS:
            checks.append("checked by the core")
        result.append(
            Row(
                name=name,
                group=groups[name],
                variable=module.env_var_name(name),
                type=_type(field.annotation),
                default=_value(default),
                source=source,
                validation="; ".join(checks) or "type only",
                meaning=docs.get(name, ""),
            )
        )
    return result


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render() -> str:
    """The Markdown of the reference: a heading and a table per group."""
    by_group: dict[str, list[Row]] = {}
    for row in rows():
        by_group.setdefault(row.group, []).append(row)
    parts: list[str] = []
    for group, members in by_group.items():
        parts += [
            f"### {group}",
            "",
            "| variable | type | default (set by) | validation | meaning |",
            "|---|---|---|---|---|",
        ]
        parts += [
            f"| `{r.variable}` | {r.type} | {r.default} ({_cell(r.source)}) "
            f"| {_cell(r.validation)} | {_cell(r.meaning)} |"
            for r in members
        ]
        parts.append("")
    return "\n".join(parts)


def on_page_markdown(markdown: str, *, page: Any, **_: Any) -> str:
    """Replace the marker of the configuration page with the generated tables."""
    if page.file.src_uri != PAGE:
        return markdown
    if markdown.count(MARKER) != 1:
        raise ValueError(f"{PAGE} must hold {MARKER} exactly once")
    return markdown.replace(MARKER, render())

"""The OpenAPI document as plain Markdown, for a docs site that loads nothing at run time.

One section per tag, one entry per operation (method, path, authentication,
parameters, request body, every response with its media type and schema), then
every component schema as a table of its members. Plain Markdown tables and
headings only, so any MkDocs theme renders it and ``--strict`` link checks pass
(schema links point at the schema headings of the same page, by the ids the
``toc`` extension gives them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_SECURITY_TEXT = {
    "bearerAuth": "bearer access token",
    "refreshCookie": "browser refresh cookie",
    "metricsToken": "metrics token",
}


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _anchor(name: str) -> str:
    """The id Python-Markdown's ``toc`` gives the heading ``### <name>`` (no extension needed)."""
    return re.sub(r"[^\w\- ]", "", name.lower()).strip().replace(" ", "-")


def _type(schema: Mapping[str, Any]) -> str:
    """A short human rendering of a JSON schema: ``string``, ``array of User``, ``A | B``."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "const" in schema:
        return f"`{schema['const']!r}`".replace("'", '"')
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"]).replace("'", '"')
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " \\| ".join(_type(branch) for branch in schema[key])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {_type(schema['additionalProperties'])}"
    if isinstance(kind, list):
        return " \\| ".join(str(k) for k in kind)
    if kind is None:
        return "any"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


_CONSTRAINTS = (
    ("minLength", "min length"),
    ("maxLength", "max length"),
    ("minimum", "≥"),
    ("maximum", "≤"),
    ("minItems", "min items"),
    ("maxItems", "max items"),
    ("pattern", "pattern"),
    ("default", "default"),
)


def _constraints(schema: Mapping[str, Any]) -> str:
    parts = []
    for key, label in _CONSTRAINTS:
        if key in schema:
            value = schema[key]
            if key == "default":
                shown = f"`{json.dumps(value)}`"
            elif key == "pattern":
                shown = f"`{value}`"
            else:
                shown = str(value)
            parts.append(f"{label} {shown}")
    for branch in schema.get("anyOf", ()):
        if isinstance(branch, Mapping) and branch.get("type") != "null":
            inner = _constraints(branch)
            if inner:
                parts.append(inner)
    return ", ".join(parts)


def _security(operation: Mapping[str, Any]) -> str:
    requirements = operation.get("security", [])
    if not requirements:
        return "none"
    options = []
    for requirement in requirements:
        names = [_SECURITY_TEXT.get(name, name) for name in requirement]
        options.append(" + ".join(names) if names else "none")
    return " or ".join(options)


def _operation(path: str, method: str, operation: Mapping[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", "", _cell(operation.get("summary", "")), ""]
    if operation.get("description"):
        lines += [operation["description"], ""]
    lines += [
        f"- Operation id: `{operation['operationId']}`",
        f"- Authentication: {_security(operation)}",
        "",
    ]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += [
            "| parameter | in | type | required | constraints |",
            "|---|---|---|---|---|",
        ]
        for parameter in parameters:
            schema = parameter.get("schema", {})
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | {_type(schema)} | "
                f"{'yes' if parameter.get('required') else 'no'} | {_cell(_constraints(schema))} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media_type, content in body["content"].items():
            lines += [f"Request body (`{media_type}`): {_type(content.get('schema', {}))}", ""]
    lines += ["| status | content | description |", "|---|---|---|"]
    for status, response in operation["responses"].items():
        content = response.get("content", {})
        shown = (
            ", ".join(f"`{m}` {_type(c.get('schema', {}))}" for m, c in content.items())
            or "no body"
        )
        lines.append(f"| {status} | {shown} | {_cell(response.get('description', ''))} |")
    lines.append("")
    links = [
        (status, name, link)
        for status, response in operation["responses"].items()
        for name, link in response.get("links", {}).items()
    ]
    for status, name, link in links:
        lines.append(f"- Link `{name}` from {status}: to `{link['operationId']}`")
    if links:
        lines.append("")
    return lines


def _schema(name: str, schema: Mapping[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [_cell(schema["description"]), ""]
    properties = schema.get("properties", {})
    if not properties:
        return [*lines, f"Type: {_type(schema)}", ""]
    required = set(schema.get("required", ()))
    lines += ["| member | type | required | constraints |", "|---|---|---|---|"]
    for member, prop in properties.items():
        lines.append(
            f"| `{member}` | {_type(prop)} | {'yes' if member in required else 'no'} | "
            f"{_cell(_constraints(prop))} |"
        )
    extra = schema.get("additionalProperties")
    lines += [
        "",
        "Other members: " + ("none." if extra is False else "allowed."),
        "",
    ]
    return lines


def openapi_markdown(document: Mapping[str, Any], *, heading: str = "# HTTP API reference") -> str:
    """``document`` (an OpenAPI 3.1 dict) as one Markdown page: operations by tag, then schemas."""
    info = document["info"]
    lines = [
        heading,
        "",
        f"{info['title']} {info['version']}, OpenAPI {document['openapi']}.",
        "",
    ]
    if info.get("description"):
        lines += [info["description"], ""]
    by_tag: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            tag = (operation.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((path, method, operation))
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for path, method, operation in by_tag[tag]:
            lines += _operation(path, method, operation)
    schemes = document.get("components", {}).get("securitySchemes", {})
    if schemes:
        lines += ["## Security schemes", "", "| name | type | description |", "|---|---|---|"]
        for name, scheme in schemes.items():
            where = scheme.get("scheme") or f"{scheme.get('in')} `{scheme.get('name')}`"
            text = _cell(scheme.get("description", ""))
            lines.append(f"| `{name}` | {scheme['type']} ({where}) | {text} |")
        lines.append("")
    lines += ["## Schemas", ""]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        lines += _schema(name, schema)
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["openapi_markdown"]

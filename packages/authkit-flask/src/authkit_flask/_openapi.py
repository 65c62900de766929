"""The OpenAPI 3.1 document, built from the routes and the pydantic models they use.

Each JSON view declares its operation beside its definition::

    @auth_blueprint.post("/login")
    @api_operation("POST", summary="Sign in", tags=("auth",), body=LoginBody,
                   responses={200: TokenPairOut}, errors=(401, 403, 429))
    def login() -> Response: ...

``api_operation`` only records an :class:`ApiOperation` on the view function; the
path comes from the route itself. :func:`openapi_document` walks ``app.url_map``
and renders each rule's recorded operations, with request and response schemas
from the same models that validate the requests (``model_json_schema``, shared
through ``components/schemas``). So an operation cannot name a path that is not
routed, a renamed field changes the document, and :func:`openapi_coverage` lists
any route without an entry (and any entry for a method its route does not serve),
which the tests keep empty apart from the HTML pages, static files and sockets.

Statuses every operation of a kind can answer are added here, so no entry forgets
them: a JSON body gives 400 (not JSON), 413 (too large) and 422 (a bad field); a
query model gives 422; a path parameter gives 404; a bearer token gives 401 and,
where a role or MFA enrolment is needed, 403; a throttled operation (429) also
gives 503 when the limits' storage is down. Each error is problem details
(``application/problem+json``, the ``Problem`` schema).

An app documents its own routes the same way (the decorator is public), and
``GET /openapi.json`` serves the document (no authentication; the same for every
caller, so public and cacheable).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

from flask import Blueprint, Flask, Response, current_app
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from authkit_flask._api_models import Problem
from authkit_flask._problem import PROBLEM_CONTENT_TYPE, TITLE_BY_STATUS

OPENAPI_VERSION: Final = "3.1.0"
OPENAPI_PATH: Final = "/openapi.json"
OPENAPI_CACHE_CONTROL: Final = "public, max-age=300"
CSRF_HEADER_NAME: Final = "X-Authkit-CSRF"  # the value of _browser.CSRF_HEADER
_ATTRIBUTE: Final = "authkit_api_operations"
_IGNORED_METHODS: Final = frozenset({"HEAD", "OPTIONS"})
_RULE_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")

Auth = Literal["none", "bearer", "enrolment", "admin", "refresh_cookie", "metrics"]
"""How an operation authenticates:

* ``none``: public;
* ``bearer``: an access token (``login_required``: 401, and 403 for an account
  that must enrol MFA first);
* ``enrolment``: an access token, enrolment-only tokens included (``enrolment_allowed``: 401);
* ``admin``: an access token with the ``admin`` role (``roles_required``: 401, 403);
* ``refresh_cookie``: the browser session's ``HttpOnly`` refresh cookie, with the
  CSRF header (``/auth/browser/session/*``);
* ``metrics``: the metrics token when ``/metrics`` runs in ``token`` mode (401).
"""

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True, kw_only=True)
class ApiResponse:
    """A documented answer.

    A JSON ``model``, another ``media_type`` with a raw ``schema`` (Prometheus
    text, say), or no body at all (neither given).
    """

    description: str
    model: type[BaseModel] | None = None
    media_type: str = "application/json"
    schema: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    """Response header name to its description."""


ResponseSpec = type[BaseModel] | ApiResponse | str
"""A model (JSON body), an :class:`ApiResponse`, or a description (no body)."""


@dataclass(frozen=True, kw_only=True)
class ApiOperation:
    """What :func:`api_operation` records on a view; see its arguments."""

    method: str
    summary: str
    tags: tuple[str, ...]
    responses: Mapping[int, ResponseSpec]
    description: str | None = None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    auth: Auth = "none"
    errors: frozenset[int] = frozenset()
    csrf: bool = False
    operation_id: str | None = None
    links: Mapping[int, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)


def api_operation(
    method: str,
    *,
    summary: str,
    tags: Collection[str],
    responses: Mapping[int, ResponseSpec],
    description: str | None = None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    auth: Auth = "none",
    errors: Collection[int] = (),
    csrf: bool = False,
    operation_id: str | None = None,
    links: Mapping[int, Mapping[str, Mapping[str, Any]]] | None = None,
) -> Callable[[View], View]:
    """Document the view's ``method`` operation (put it under the route decorator).

    ``body`` / ``query`` are the pydantic models the view parses its JSON body /
    query string with; ``responses`` maps each success status to its model (or an
    :class:`ApiResponse`, or a description for an empty body); ``errors`` are the
    problem statuses beyond those ``body``, ``query``, path parameters and
    ``auth`` imply. ``csrf`` adds the required ``X-Authkit-CSRF: 1`` header.
    ``links`` maps a status to OpenAPI link objects (by name) from that answer.
    """
    operation = ApiOperation(
        method=method.upper(),
        summary=summary,
        tags=tuple(tags),
        responses=dict(responses),
        description=description,
        body=body,
        query=query,
        auth=auth,
        errors=frozenset(errors),
        csrf=csrf,
        operation_id=operation_id,
        links=dict(links or {}),
    )

    def decorate(view: View) -> View:
        recorded: list[ApiOperation] = view.__dict__.setdefault(_ATTRIBUTE, [])
        if any(entry.method == operation.method for entry in recorded):
            raise ValueError(f"{view.__name__}: {operation.method} is documented twice")
        recorded.append(operation)
        return view

    return decorate


@dataclass(frozen=True)
class OpenApiCoverage:
    """Routes without an entry and entries without a route, as ``"METHOD /path"``."""

    undocumented: tuple[str, ...]
    unrouted: tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    path: str
    rule_arguments: tuple[str, ...]
    endpoint: str
    operation: ApiOperation
    shared_rule: bool


def _operations(view: Callable[..., Any] | None) -> list[ApiOperation]:
    recorded = getattr(view, _ATTRIBUTE, None)
    return list(recorded) if isinstance(recorded, list) else []


def openapi_path(rule: str) -> str:
    """A Werkzeug rule as an OpenAPI path: ``/users/<user_id>`` -> ``/users/{user_id}``."""
    return _RULE_ARGUMENT.sub(lambda m: "{" + m.group(1) + "}", rule)


def _walk(app: Flask) -> tuple[list[_Entry], OpenApiCoverage]:
    entries: list[_Entry] = []
    undocumented: list[str] = []
    unrouted: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        served = sorted(set(rule.methods or ()) - _IGNORED_METHODS)
        operations = _operations(app.view_functions.get(rule.endpoint))
        documented = {operation.method for operation in operations}
        undocumented += [f"{method} {rule.rule}" for method in served if method not in documented]
        for operation in operations:
            if operation.method not in served:
                unrouted.append(f"{operation.method} {rule.rule}")
                continue
            entries.append(
                _Entry(
                    path=openapi_path(rule.rule),
                    rule_arguments=tuple(sorted(rule.arguments)),
                    endpoint=rule.endpoint,
                    operation=operation,
                    shared_rule=len(served) > 1,
                )
            )
    return entries, OpenApiCoverage(tuple(undocumented), tuple(unrouted))


def openapi_coverage(app: Flask) -> OpenApiCoverage:
    """Which routes of ``app`` have no entry, and which entries no route."""
    return _walk(app)[1]


_AUTH_ERRORS: Final[Mapping[Auth, frozenset[int]]] = {
    "none": frozenset(),
    "bearer": frozenset({401, 403}),
    "enrolment": frozenset({401}),
    "admin": frozenset({401, 403}),
    "refresh_cookie": frozenset({401, 403}),
    "metrics": frozenset({401}),
}
_AUTH_SECURITY: Final[Mapping[Auth, list[dict[str, list[str]]]]] = {
    "none": [],
    "bearer": [{"bearerAuth": []}],
    "enrolment": [{"bearerAuth": []}],
    "admin": [{"bearerAuth": []}],
    "refresh_cookie": [{"refreshCookie": []}, {}],
    "metrics": [{}, {"metricsToken": []}],
}
_ERROR_HEADERS: Final[Mapping[int, Mapping[str, str]]] = {
    401: {"WWW-Authenticate": "The bearer challenge (RFC 6750) for token errors."},
    429: {"Retry-After": "Whole seconds after which the attempt is no longer throttled."},
    503: {"Retry-After": "Seconds after which a retry may succeed."},
}


def _security_schemes(cookie_name: str) -> dict[str, Any]:
    return {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token (`typ: at+jwt`) from `/auth/login` or a refresh.",
        },
        "refreshCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": cookie_name,
            "description": (
                "The browser session's refresh token: an `HttpOnly`, `SameSite=Strict` "
                "cookie scoped to `/auth/browser/session`, set by `/auth/browser/login`. "
                f"Every browser-session request also needs the `{CSRF_HEADER_NAME}: 1` header."
            ),
        },
        "metricsToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "The static metrics token, when `/metrics` runs in `token` mode.",
        },
    }


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        prop.pop("title", None)
        if name not in required:
            # Absent means "not given": a null is not something a query string can say.
            branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
            if len(branches) == 1:
                prop.update(branches[0])
            elif branches:
                prop["anyOf"] = branches
            if prop.get("default") is None:
                prop.pop("default", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        parameters.append(parameter)
    return parameters


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": TITLE_BY_STATUS.get(status, "Error"),
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in _ERROR_HEADERS:
        response["headers"] = _headers(_ERROR_HEADERS[status])
    return response


def _headers(headers: Mapping[str, str]) -> dict[str, Any]:
    return {
        name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
    }


@dataclass
class _Schemas:
    """Every model the document refers to, rendered once into ``components/schemas``."""

    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = field(default_factory=dict)

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        self.wanted[(model, mode)] = None
        return {"$ref": f"@{mode}@{model.__module__}.{model.__qualname__}"}

    def render(self) -> tuple[dict[str, str], dict[str, Any]]:
        keys = list(self.wanted)
        key_map, top = models_json_schema(keys, ref_template="#/components/schemas/{model}")
        refs = {
            f"@{mode}@{model.__module__}.{model.__qualname__}": key_map[(model, mode)]["$ref"]
            for model, mode in keys
        }
        return refs, top.get("$defs", {})


def _operation_object(entry: _Entry, schemas: _Schemas) -> dict[str, Any]:
    operation = entry.operation
    operation_id = operation.operation_id or entry.endpoint.replace(".", "_")
    if entry.shared_rule and operation.operation_id is None:
        operation_id += "_" + operation.method.lower()
    result: dict[str, Any] = {
        "operationId": operation_id,
        "summary": operation.summary,
        "tags": list(operation.tags),
    }
    if operation.description:
        result["description"] = operation.description
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
        }
        for name in entry.rule_arguments
    ]
    if operation.query is not None:
        parameters += _query_parameters(operation.query)
    if operation.csrf:
        parameters.append(
            {
                "name": CSRF_HEADER_NAME,
                "in": "header",
                "required": True,
                "description": "CSRF guard of the browser-session endpoints: always `1`.",
                "schema": {"type": "string", "const": "1"},
            }
        )
    if parameters:
        result["parameters"] = parameters
    if operation.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.ref(operation.body, "validation")}},
        }
    errors = set(operation.errors) | _AUTH_ERRORS[operation.auth]
    if operation.body is not None:
        errors |= {400, 413, 422}
    if operation.query is not None:
        errors.add(422)
    if entry.rule_arguments:
        errors.add(404)
    if operation.csrf:
        errors.add(403)
    if 429 in errors:
        # Throttled: the limits' storage (Redis) being down fails closed with 503
        # service_unavailable rather than letting attempts through uncounted.
        errors.add(503)
    responses: dict[str, Any] = {}
    for status, spec in operation.responses.items():
        responses[str(status)] = _success_response(spec, schemas)
        if status in operation.links:
            responses[str(status)]["links"] = dict(operation.links[status])
    for status in sorted(errors - set(operation.responses)):
        responses[str(status)] = _problem_response(status)
    result["responses"] = dict(sorted(responses.items()))
    security = _AUTH_SECURITY[operation.auth]
    result["security"] = security
    return result


def _success_response(spec: ResponseSpec, schemas: _Schemas) -> dict[str, Any]:
    if isinstance(spec, str):
        return {"description": spec}
    if isinstance(spec, ApiResponse):
        response: dict[str, Any] = {"description": spec.description}
        if spec.model is not None:
            schema: Mapping[str, Any] = schemas.ref(spec.model, "serialization")
        else:
            schema = spec.schema or {}
        if spec.model is not None or spec.schema is not None:
            response["content"] = {spec.media_type: {"schema": dict(schema)}}
        if spec.headers:
            response["headers"] = _headers(spec.headers)
        return response
    description = (spec.__doc__ or spec.__name__).strip().splitlines()[0]
    return {
        "description": description,
        "content": {"application/json": {"schema": schemas.ref(spec, "serialization")}},
    }


def _resolve(node: Any, refs: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: refs.get(value, value) if key == "$ref" else _resolve(value, refs)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_resolve(item, refs) for item in node]
    return node


def openapi_document(
    app: Flask,
    *,
    title: str,
    version: str,
    description: str | None = None,
    cookie_name: str = "authkit_refresh",
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every documented route of ``app``.

    Deterministic (sorted paths and schemas), so a copy checked into the docs can be
    compared with a fresh one in a test.
    """
    entries, _ = _walk(app)
    schemas = _Schemas()
    schemas.ref(Problem, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, None] = {}
    for entry in entries:
        paths.setdefault(entry.path, {})[entry.operation.method.lower()] = _operation_object(
            entry, schemas
        )
        tags.update(dict.fromkeys(entry.operation.tags))
    refs, components = schemas.render()
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": info,
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [{"name": name} for name in sorted(tags)],
        "paths": _resolve(dict(sorted(paths.items())), refs),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": _security_schemes(cookie_name),
        },
    }
    return document


@dataclass(frozen=True, kw_only=True)
class OpenApiInfo:
    """What ``/openapi.json`` says about the API: title, version and description."""

    title: str
    version: str
    description: str | None = None


def openapi_blueprint(info: OpenApiInfo, cookie_name: str) -> Blueprint:
    """``GET /openapi.json``: the document, public and cacheable.

    Built on the first request (every route is registered by then) and kept for the
    app's life, with a strong ``ETag`` (the same in every worker: a digest of the bytes).
    """
    blueprint = Blueprint("authkit_openapi", __name__)
    built: list[tuple[bytes, str]] = []  # one blueprint per app: one slot

    @blueprint.get(OPENAPI_PATH)
    @api_operation(
        "GET",
        summary="The OpenAPI document of this API",
        tags=("meta",),
        responses={
            200: ApiResponse(
                description="This document (OpenAPI 3.1).",
                schema={"type": "object", "required": ["openapi", "info", "paths"]},
                headers={"ETag": "A digest of the document.", "Cache-Control": "Public."},
            )
        },
        operation_id="openapi",
    )
    def openapi() -> Response:
        if not built:
            document = openapi_document(
                current_app,
                title=info.title,
                version=info.version,
                description=info.description,
                cookie_name=cookie_name,
            )
            # The standard library keeps the document's own order (openapi, info,
            # paths, ...); Flask's provider would sort the keys.
            body = json.dumps(document, ensure_ascii=False).encode()
            built.append((body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'))
        body, etag = built[0]
        response = Response(body, mimetype="application/json")
        response.headers["Cache-Control"] = OPENAPI_CACHE_CONTROL
        response.headers["ETag"] = etag
        return response

    return blueprint


__all__ = [
    "OPENAPI_PATH",
    "ApiOperation",
    "ApiResponse",
    "Auth",
    "OpenApiCoverage",
    "OpenApiInfo",
    "api_operation",
    "openapi_blueprint",
    "openapi_coverage",
    "openapi_document",
    "openapi_path",
]

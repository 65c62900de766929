"""The composition root and the public surface the web layer is wired to."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

import flight_app.flights
import flight_app.resilience
from authkit.clock import FrozenClock
from flight_app.flights import (
    BuiltinProvider,
    DuffelProvider,
    FlightSearch,
    create_flight_search,
)
from flight_app.resilience import MemoryResultCache, ResiliencePolicy

WEB_EDGE = "http.py"
"""The one module of ``flight_app.flights`` that is Flask's: the HTTP endpoints."""


def _imports(package: Path) -> set[str]:
    found: set[str] = set()
    for path in package.rglob("*.py"):
        if path.parent == package and path.name == WEB_EDGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


def test_the_packages_stay_free_of_the_web_framework_and_of_each_other() -> None:
    """flights (but its HTTP edge) and resilience import no Flask; resilience knows
    nothing of flights; and nothing in flights imports its HTTP edge."""
    flights = Path(flight_app.flights.__file__).parent
    resilience = Path(flight_app.resilience.__file__).parent
    web = ("flask", "werkzeug", "authkit_flask")
    for package in (flights, resilience):
        assert not [m for m in _imports(package) if m.split(".")[0] in web], package
    assert not [m for m in _imports(resilience) if m.startswith("flight_app.flights")]
    assert "flight_app.flights.http" not in _imports(flights)


def test_every_exported_name_exists() -> None:
    """``__all__`` lists only real names, once (ruff keeps it sorted)."""
    for names, package in (
        (flight_app.flights.__all__, flight_app.flights),
        (flight_app.resilience.__all__, flight_app.resilience),
    ):
        assert len(set(names)) == len(names)
        assert all(hasattr(package, name) for name in names)


def test_the_builtin_search_is_the_default() -> None:
    clock = FrozenClock(datetime(2026, 3, 1, tzinfo=UTC))
    search = create_flight_search(clock=clock)
    assert isinstance(search, FlightSearch)
    assert isinstance(search.provider, BuiltinProvider)
    assert search.guard.name == "flight_provider"
    result = search.search(search.validate(origin="ZRH", destination="LHR", depart="2026-03-02"))
    assert result.outbound
    search.close()


def test_the_duffel_search_needs_a_token_and_uses_the_policy_timeout() -> None:
    with pytest.raises(ValueError, match="DUFFEL_TOKEN"):
        create_flight_search(provider="duffel")
    search = create_flight_search(
        provider="duffel",
        duffel_token="duffel_test_x",
        duffel_url="http://127.0.0.1:9",
        policy=ResiliencePolicy(timeout=3),
    )
    try:
        assert isinstance(search.provider, DuffelProvider)
        assert "duffel_test_x" not in repr(search.provider)
    finally:
        search.close()


def test_an_unknown_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown flight provider"):
        create_flight_search(provider="amadeus")  # type: ignore[arg-type]


def test_the_memory_cache_needs_room() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryResultCache(max_entries=0)

"""Issue 14, finding 12: ``flight-app keys retire --kid K --compromised``.

Immediate (no dual-key window), audited (``keys.retire`` with ``compromised:
true``), and loud: it says what it is about to do, and goes on only after the kid
is typed back at a terminal or with ``--yes``; without a terminal and without
``--yes`` it refuses and changes nothing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from flight_app import cli

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(
    app_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    instance_path: Path,
) -> Run:
    """``run(*argv, tty=False, typed="")``: ``flight_app.cli.main`` -> (code, out, err)."""
    monkeypatch.setenv("FLIGHT_APP_INSTANCE_PATH", str(instance_path))

    def call(*argv: str, tty: bool = False, typed: str = "") -> tuple[int, str, str]:
        stdin = io.StringIO(typed + "\n")
        stdin.isatty = lambda: tty  # type: ignore[method-assign]
        monkeypatch.setattr("sys.stdin", stdin)
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def ring(instance_path: Path) -> dict[str, str]:
    data = json.loads((instance_path / "keyring.json").read_text())
    return {key["kid"]: key["status"] for key in data["keys"]}


def audit_events(instance_path: Path) -> list[dict[str, object]]:
    path = instance_path / "auth.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def active_kid(instance_path: Path) -> str:
    return next(kid for kid, status in ring(instance_path).items() if status == "active")


def test_without_a_terminal_and_without_yes_it_refuses_and_changes_nothing(
    run: Run, instance_path: Path
) -> None:
    run("keys", "list")
    kid = active_kid(instance_path)
    code, _, err = run("keys", "retire", f"--kid={kid}", "--compromised")
    assert code == 2
    assert "EMERGENCY" in err
    assert "COMPROMISED" in err
    assert "refusing without confirmation" in err
    assert ring(instance_path) == {kid: "active"}


def test_with_yes_the_active_key_is_replaced_and_retired_at_once(
    run: Run, instance_path: Path
) -> None:
    run("keys", "list")
    leaked = active_kid(instance_path)
    code, out, err = run("keys", "retire", f"--kid={leaked}", "--compromised", "--yes")
    assert code == 0, err
    assert f"Retired compromised key {leaked} immediately." in out
    assert "ACTIVE key" in err
    keys = ring(instance_path)
    assert leaked not in keys
    assert list(keys.values()) == ["active"]
    (event,) = [e for e in audit_events(instance_path) if e["event"] == "keys.retire"]
    assert event["compromised"] is True
    assert event["kids"] == [leaked]
    assert event["activated"] == active_kid(instance_path)


def test_a_verify_only_key_inside_its_window_goes_when_compromised(
    run: Run, instance_path: Path
) -> None:
    run("keys", "list")
    leaked = active_kid(instance_path)
    run("keys", "rotate")
    assert run("keys", "retire", f"--kid={leaked}")[0] == 2  # the window still protects it
    code, _, err = run("keys", "retire", f"--kid={leaked}", "--compromised", tty=True, typed=leaked)
    assert code == 0, err
    assert leaked not in ring(instance_path)
    assert len(ring(instance_path)) == 1


def test_a_wrong_answer_at_the_terminal_changes_nothing(run: Run, instance_path: Path) -> None:
    run("keys", "list")
    kid = active_kid(instance_path)
    code, _, err = run("keys", "retire", f"--kid={kid}", "--compromised", tty=True, typed="yes")
    assert code == 2
    assert "not confirmed" in err
    assert ring(instance_path) == {kid: "active"}


@pytest.mark.parametrize(
    "argv",
    [
        ("keys", "retire", "--compromised", "--yes"),
        ("keys", "rotate", "--compromised", "--yes"),
        ("keys", "retire", "--kid=no-such-kid", "--compromised", "--yes"),
    ],
)
def test_compromised_needs_retire_and_a_known_kid(
    run: Run, instance_path: Path, argv: tuple[str, ...]
) -> None:
    run("keys", "list")
    before = ring(instance_path)
    code, _, err = run(*argv)
    assert code == 2
    assert err
    assert ring(instance_path) == before

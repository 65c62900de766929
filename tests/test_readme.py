"""The README's code runs, so the first thing a reader copies cannot rot."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_quick_look_is_short() -> None:
    """At most about a dozen lines of code and three imports (the adoption promise)."""
    (block,) = python_blocks()
    code = [ln for ln in block.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    imports = [n for n in ast.parse(block).body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert len(code) <= 12, code
    assert len(imports) <= 3


def test_the_quick_look_serves_sign_up_sign_in_and_a_protected_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (block,) = python_blocks()
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(block, str(README), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, Flask)
    client = app.test_client()
    password = "violet marmalade drifts at noon"
    created = client.post(
        "/auth/register",
        json={"username": "alice", "email": "alice@example.com", "password": password},
    )
    assert created.status_code == 201, created.get_json()
    pair = client.post("/auth/login", json={"username": "alice", "password": password})
    assert pair.status_code == 200
    token = pair.get_json()["access_token"]
    assert client.get("/hello").status_code == 401
    hello = client.get("/hello", headers={"Authorization": f"Bearer {token}"})
    assert hello.get_json() == {"hello": "alice"}
    namespace["kit"].close()
    assert (tmp_path / "auth.jsonl").exists()


def test_readme_names_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "python3 -m pip install uv && python3 -m uv run flight-app serve" in text
    assert "python3 -m pip install uv && python3 -m uv run pytest" in text

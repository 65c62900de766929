"""The README's code runs, so the first thing a reader copies cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README lost its Python example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        namespace: dict[str, object] = {"__name__": "readme_example"}
        exec(compile(block, str(README), "exec"), namespace)
        audit = namespace.get("service")
        assert audit is not None
    assert (tmp_path / "auth.jsonl").exists()


def test_readme_names_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "python3 -m pip install uv && python3 -m uv run flight-app serve" in text
    assert "python3 -m pip install uv && python3 -m uv run pytest" in text

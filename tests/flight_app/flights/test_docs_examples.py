"""The code of ``docs/flights.md`` runs as written, so the page cannot rot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

PAGE = Path(__file__).resolve().parents[3] / "docs" / "flights.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def test_the_page_has_its_examples() -> None:
    assert len(python_blocks()) == 2


@pytest.mark.parametrize("block", python_blocks(), ids=["stand-in", "wrap-another-call"])
def test_each_example_runs(block: str, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(block, str(PAGE), "exec"), namespace)
    printed = capsys.readouterr().out
    assert printed.strip(), "each example shows what it did"
    if "guard" in namespace:
        assert printed.strip() == "live False {'CHF': '0.94'}", "the comment's promise"
        assert namespace["outcome"].value == {"CHF": "0.94"}
        namespace["client"].close()
    else:
        assert printed.startswith("FLIGHT_APP_DUFFEL_URL = http://127.0.0.1:")

"""Every code block of the docs runs as a test (sybil), or says why it cannot.

Over ``README.md`` and every page under ``docs/``:

- ``python`` blocks run, in page order, in one namespace per page, so a page
  (the tutorial) can build up one program block by block;
- ``sh`` blocks run with ``bash -euo pipefail`` in a scratch folder per page, with
  the project's ``.venv/bin`` first on ``PATH``, ``APP_ENV=test`` and the instance
  folder inside the scratch folder, so ``flight-app`` commands touch nothing real;
- ``json``, ``toml`` and ``yaml`` blocks must parse;
- a block that must not run (it starts a server, needs the network, a container
  engine or a placeholder value) is preceded by ``<!-- skip: next "reason" -->``
  (sybil's skip directive; the reason is shown as the skip reason), and a block
  in a language nothing can run (``text``, ``http``, ``sql``, ``jinja``) by
  ``<!-- not-runnable: reason -->``. CONTRIBUTING.md documents both markers.

``test_every_block_is_run_or_says_why`` fails for a block that is neither run
nor marked, so a new example cannot silently escape.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML, through mkdocs; no stubs locked
from sybil import Document, Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL_TIMEOUT = 120
RUN_LANGUAGES = {"python", "sh", "json", "toml", "yaml"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<language>[\w-]*)[^\n]*\n", re.M)
NOT_RUNNABLE = re.compile(r"<!--\s*not-runnable:\s*\S.*-->\s*$")
SKIP_NEXT = re.compile(r"<!--\s*skip:\s*next(?P<reason>.*?)-->\s*$")


class ShellBlock:
    """Run a ``sh`` block in the page's scratch folder; fail with its output."""

    def __call__(self, example: Example) -> None:
        workdir = Path(example.namespace["__workdir__"])
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(workdir),
            "APP_ENV": "test",
            "FLIGHT_APP_INSTANCE_PATH": str(workdir / "instance"),
        }
        # A session of its own, so a command that outlives the timeout (a server
        # started by mistake) is stopped with everything it started.
        with subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", example.parsed],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as process:
            try:
                stdout, stderr = process.communicate(timeout=SHELL_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise
        done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        assert done.returncode == 0, (
            f"exit status {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )


def _parses(loader: Any) -> Any:
    def evaluate(example: Example) -> None:
        loader(example.parsed)

    return evaluate


SYBIL = Sybil(
    parsers=[
        PythonCodeBlockParser(),
        CodeBlockParser(language="sh", evaluator=ShellBlock()),
        CodeBlockParser(language="json", evaluator=_parses(json.loads)),
        CodeBlockParser(language="toml", evaluator=_parses(tomllib.loads)),
        CodeBlockParser(language="yaml", evaluator=_parses(yaml.safe_load)),
        SkipParser(),
    ],
    path="../..",
    patterns=["*.md"],
)

_DOCUMENTS: dict[Path, Document] = {}


def _document(path: Path) -> Document:
    if path not in _DOCUMENTS:
        _DOCUMENTS[path] = SYBIL.parse(path)
    return _DOCUMENTS[path]


def _examples() -> Iterator[Any]:
    for path in DOCUMENTS:
        for example in _document(path):
            yield pytest.param(example, id=f"{path.relative_to(ROOT)}:{example.line}")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Path, Path]]:
    """A scratch folder per page; afterwards, what the pages opened is closed."""
    folders: dict[Path, Path] = {}
    yield folders
    from authkit import Authkit

    for document in _DOCUMENTS.values():
        for value in document.namespace.values():
            if isinstance(value, Authkit):
                value.close()
            close = getattr(value, "close", None)
            if type(value).__name__ == "Client" and callable(close):
                close()  # httpx clients made by the examples


@pytest.mark.parametrize("example", list(_examples()))
def test_example(
    example: Example,
    scratch: dict[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = Path(example.path)
    if page not in scratch:
        scratch[page] = tmp_path_factory.mktemp(page.stem)
    monkeypatch.chdir(scratch[page])
    example.namespace.setdefault("__name__", f"docs_{page.stem}")
    example.namespace["__workdir__"] = str(scratch[page])
    example.evaluate()


def _blocks(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, language, the line before) of each fenced block that opens a block."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    inside = False
    for match in FENCE.finditer(text):
        inside = not inside
        if not inside:
            continue
        number = text.count("\n", 0, match.start())
        before = next((ln for ln in reversed(lines[:number]) if ln.strip()), "")
        yield number + 1, match["language"], before


def _unaccounted(path: Path) -> list[str]:
    """The blocks of ``path`` that neither run nor say why they cannot."""
    problems = []
    for line, language, before in _blocks(path):
        skip = SKIP_NEXT.search(before)
        if skip and not re.search(r"[\"'].+[\"']", skip["reason"]):
            problems.append(f"{path.name}:{line}: skip without a quoted reason")
        if language not in RUN_LANGUAGES and not NOT_RUNNABLE.search(before):
            problems.append(f"{path.name}:{line}: ```{language} is neither run nor marked")
    return problems


def test_every_block_is_run_or_says_why() -> None:
    assert [p for path in DOCUMENTS for p in _unaccounted(path)] == []


def test_a_broken_or_unmarked_example_is_caught(tmp_path: Path) -> None:
    """The harness itself: a failing block fails, an unmarked one is reported."""
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nvalue = 1\n```\n\n```python\nassert value == 2\n```\n\n"
        "```sh\nexit 3\n```\n\n<!-- skip: next -->\n```sh\ntrue\n```\n\n```text\nout\n```\n",
        encoding="utf-8",
    )
    python_ok, python_broken, shell_broken, *_ = list(SYBIL.parse(page))
    python_ok.evaluate()
    with pytest.raises(AssertionError):
        python_broken.evaluate()
    shell_broken.namespace["__workdir__"] = str(tmp_path)
    with pytest.raises(AssertionError, match="exit status 3"):
        shell_broken.evaluate()
    assert _unaccounted(page) == [
        "page.md:14: skip without a quoted reason",
        "page.md:18: ```text is neither run nor marked",
    ]


def test_sybil_sees_every_runnable_block() -> None:
    """The lexer and the checker above agree, so no block escapes both."""
    for path in DOCUMENTS:
        fenced = sum(1 for _, language, _ in _blocks(path) if language in RUN_LANGUAGES)
        parsed = sum(1 for _ in _document(path))
        skips = sum(1 for e in _document(path) if isinstance(e.region.parsed, tuple))
        invisible = len(
            re.findall(r"(?m)^[ \t]*<!--\s*invisible-code-block", path.read_text("utf-8"))
        )
        assert parsed - skips - invisible == fenced, path.relative_to(ROOT)

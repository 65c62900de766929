"""Lint: no raw email, username, password, token or address in a log or audit call.

Run by ``nox -s lint`` over the three packages' sources (``python
scripts/check_pii_logging.py [paths...]``); exits 1 and prints
``path:line:col: CODE message`` for each finding. The rules are heuristics over
the AST, written down here so a reviewer can predict them (docs/privacy.md):

Which calls
  * a **log call**: ``<receiver>.debug|info|warning|warn|error|exception|critical|log(...)``
    whose receiver's last name is ``log``/``logger``, ends in ``_log``/``_logger``,
    or is the ``logging`` module (``logger.info``, ``current_app.logger.warning``,
    ``self._log.debug``, ``logging.info``);
  * an **audit call**: ``<receiver>.log(...)`` with an ``outcome=`` keyword (the
    ``AuditSink`` protocol of ``authkit.audit``), or any ``.log`` whose receiver's
    last name contains ``audit``. Its ``actor=`` and ``client_address=`` are
    exempt: the audit logger turns them into keyed pseudonyms (``user_...``,
    ``ip_...``) before writing; that is what they are for.

What is checked: every positional argument, every keyword value (``exc_info``,
``stack_info``, ``stacklevel`` aside), the keys and values of ``extra={...}`` /
``extra=dict(...)``, and the keyword *names* of an audit call.

What is flagged
  * PII001, a raw value: a variable, attribute or subscript key (``email``,
    ``user.username``, ``request.remote_addr``, ``body["password"]``), anywhere in
    the argument (inside an f-string, a ``%`` tuple, a method call such as
    ``email.lower()``), whose name has a *sensitive word*: email, username,
    password, passwd, passphrase, secret, otp, token (so ``refresh_token``,
    ``accessToken``), identifier, ip, address, addr. Names are split into words at
    ``_`` and camelCase. A name whose *last* word says it is not the value
    itself is fine: ``*_pseudonym``, ``*_id``, ``*_count``, ``*_type``, ``*_kind``,
    ``*_ttl``, ``email_verified``, ... (``SAFE_LAST_WORDS``). A sub-expression
    inside a call to a function named ``*pseudonym*``, ``len``, ``bool``, ``type``
    or ``isinstance`` is not a raw value.
  * PII002, a sensitive field name: a key of ``extra`` or a keyword of an audit
    call with a sensitive word (``extra={"username": ...}``, ``audit.log(...,
    email=...)``), whatever the value: the name says what the field will hold.
  * PII003, an allow-comment without its reason.

An exception is written where it is made, with its reason, on any line of the
call: ``# pii: ok <why this is not personal data or a secret>``. A bare
``# pii: ok`` is itself an error (PII003).
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOTS: Final = (
    Path("packages/authkit/src"),
    Path("packages/authkit-flask/src"),
    Path("examples/flight_app/src"),
)

LOG_METHODS: Final = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
)
SENSITIVE_WORDS: Final = frozenset(
    {
        "email", "emails", "username", "usernames", "password", "passwords", "passwd",
        "passphrase", "secret", "secrets", "otp", "token", "tokens", "identifier", "ip",
        "ips", "address", "addresses", "addr",
    }
)  # fmt: skip
SAFE_LAST_WORDS: Final = frozenset(
    {
        "pseudonym", "pseudonyms", "id", "ids", "count", "counts", "len", "length", "type",
        "types", "kind", "ttl", "lifetime", "seconds", "verified", "enabled", "required",
        "policy", "rule", "rules", "version", "family", "status", "reason", "error", "source",
        "header", "name", "names", "changed", "reused", "expired", "sent",
    }
)  # fmt: skip
SAFE_CALLS: Final = frozenset({"len", "bool", "type", "isinstance"})
AUDIT_PSEUDONYMISED: Final = frozenset({"actor", "client_address"})
IGNORED_KEYWORDS: Final = frozenset({"exc_info", "stack_info", "stacklevel"})

_WORD_RE: Final = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_ALLOW_RE: Final = re.compile(r"#\s*pii:\s*ok\b(?P<reason>.*)$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    col: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"


def words(name: str) -> list[str]:
    """``refreshToken`` and ``refresh_token`` both give ``["refresh", "token"]``."""
    return [w.lower() for w in _WORD_RE.findall(name)]


def is_sensitive(name: str) -> bool:
    """Whether a variable, attribute or field name holds a raw identifier or secret."""
    parts = words(name)
    if not parts or parts[-1] in SAFE_LAST_WORDS:
        return False
    return any(part in SENSITIVE_WORDS for part in parts)


def _terminal_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_logger(receiver: ast.expr) -> bool:
    name = _terminal_name(receiver)
    if name is None:
        return False
    bare = name.lstrip("_").lower()
    return bare in {"log", "logger", "logging"} or bare.endswith(("_log", "_logger"))


def _is_audit_call(call: ast.Call) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr != "log":
        return False
    if any(k.arg == "outcome" for k in call.keywords):
        return True
    name = _terminal_name(func.value)
    return name is not None and "audit" in name.lower()


def _raw_values(node: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """Each sub-expression of ``node`` that names a sensitive value, with that name."""
    if isinstance(node, ast.Name):
        if is_sensitive(node.id):
            yield node, node.id
        return
    if isinstance(node, ast.Attribute):
        if is_sensitive(node.attr):
            yield node, node.attr
        yield from _raw_values(node.value)
        return
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and is_sensitive(key.value):
            yield node, key.value
        yield from _raw_values(node.value)
        yield from _raw_values(key)
        return
    if isinstance(node, ast.Call):
        called = _terminal_name(node.func)
        if called is not None and (called in SAFE_CALLS or "pseudonym" in called.lower()):
            return
        if isinstance(node.func, ast.Attribute):
            yield from _raw_values(node.func.value)
        for arg in node.args:
            yield from _raw_values(arg)
        for keyword in node.keywords:
            yield from _raw_values(keyword.value)
        return
    if isinstance(node, ast.Lambda):
        return
    for child in ast.iter_child_nodes(node):
        yield from _raw_values(child)


def _extra_fields(value: ast.expr) -> Iterator[tuple[ast.AST, str | None, ast.expr]]:
    """``(node, key, value)`` for each field of an ``extra=`` dict literal or ``dict(...)``."""
    if isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key, key.value, item
            else:
                yield item, None, item
                if key is not None:
                    yield key, None, key
        return
    if isinstance(value, ast.Call) and _terminal_name(value.func) == "dict":
        for keyword in value.keywords:
            yield keyword.value, keyword.arg, keyword.value
        for arg in value.args:
            yield arg, None, arg
        return
    yield value, None, value


class _Checker:
    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.allow: dict[int, str] = {}
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                match = _ALLOW_RE.search(token.string)
                if match:
                    self.allow[token.start[0]] = match["reason"].strip()

    def _add(self, node: ast.AST, code: str, message: str) -> None:
        line = getattr(node, "lineno", 0)
        col = getattr(node, "col_offset", 0) + 1
        self.findings.append(Finding(self.path, line, col, code, message))

    def _allowed(self, call: ast.Call) -> bool:
        end = call.end_lineno or call.lineno
        reasons = [self.allow[n] for n in range(call.lineno, end + 1) if n in self.allow]
        if not reasons:
            return False
        if not any(reasons):
            self._add(call, "PII003", "`# pii: ok` needs a reason after it")
        return True

    def _values(self, expr: ast.AST, kind: str) -> None:
        for node, name in _raw_values(expr):
            self._add(
                node,
                "PII001",
                f"raw `{name}` passed to a {kind} call: log its pseudonym or a neutral "
                "value instead (or `# pii: ok <reason>`)",
            )

    def check(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if _is_audit_call(node):
                check = self._check_audit
            elif node.func.attr in LOG_METHODS and _is_logger(node.func.value):
                check = self._check_log
            else:
                continue
            if not self._allowed(node):
                check(node)

    def _check_audit(self, call: ast.Call) -> None:
        for arg in call.args:
            self._values(arg, "audit")
        for keyword in call.keywords:
            if keyword.arg in AUDIT_PSEUDONYMISED:
                continue
            if keyword.arg is not None and is_sensitive(keyword.arg):
                self._add(
                    keyword.value,
                    "PII002",
                    f"audit field `{keyword.arg}` names raw personal data or a secret: pass "
                    "it as actor=/client_address= (pseudonymised) or leave it out",
                )
            self._values(keyword.value, "audit")

    def _check_log(self, call: ast.Call) -> None:
        for arg in call.args:
            self._values(arg, "log")
        for keyword in call.keywords:
            if keyword.arg in IGNORED_KEYWORDS:
                continue
            if keyword.arg != "extra":
                self._values(keyword.value, "log")
                continue
            for node, key, value in _extra_fields(keyword.value):
                if key is not None and is_sensitive(key):
                    self._add(
                        node,
                        "PII002",
                        f"log field `{key}` names raw personal data or a secret: log a "
                        "pseudonym or a neutral label instead",
                    )
                self._values(value, "log")


def check_source(source: str, path: str = "<string>") -> list[Finding]:
    """Every finding in one module's source, sorted by position."""
    checker = _Checker(path, source)
    checker.check(ast.parse(source, filename=path))
    return sorted(checker.findings)


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if p.is_file())
        elif path.suffix == ".py":
            yield path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: sources)")
    args = parser.parse_args(argv)
    roots: list[Path] = args.paths or list(ROOTS)
    missing = [str(p) for p in roots if not p.exists()]
    if missing:
        print(f"check_pii_logging: no such path: {', '.join(missing)}", file=sys.stderr)
        return 2
    findings: list[Finding] = []
    count = 0
    for path in python_files(roots):
        count += 1
        findings.extend(check_source(path.read_text("utf-8"), str(path)))
    for finding in findings:
        print(finding)
    if findings:
        print(
            f"check_pii_logging: {len(findings)} finding(s) in {count} files; see "
            "docs/privacy.md for the rules and the `# pii: ok <reason>` exception.",
            file=sys.stderr,
        )
        return 1
    print(f"check_pii_logging: {count} files, no raw PII in log or audit calls.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

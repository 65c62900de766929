r"""Unicode rules for identifiers: one spelling per account, no look-alikes.

Three attacks register a second account that looks like an existing one:

- **Invisible characters**: ``"\u200balice@example.com"`` renders as the
  original. Format characters (category Cf), other invisible default-ignorable
  code points (Unicode's ``Default_Ignorable_Code_Point``: Hangul fillers,
  variation selectors, ...), controls, private-use, surrogate and unassigned code
  points are refused in identifiers (``invisible_characters``).
- **Compatibility variants**: fullwidth (U+FF41...) or mathematical letters are
  the same word; NFKC folds them before uniqueness (``canonical``), as
  RFC 8265 (PRECIS) does for usernames.
- **Confusables**: Cyrillic ``\u0430`` in ``\u0430lice@example.com`` is another letter that
  looks the same. UTS #39 §4 calls two strings confusable when their *skeletons*
  are equal; ``skeleton`` computes one from the Unicode confusables data
  shipped by the ``confusable-homoglyphs`` package.

The data of that package keeps each confusable pair in both directions, not
which side is the prototype, so a skeleton here maps every character to one
representative of its confusable class (the connected component of the pair
graph): an ASCII member when the class has one, else its smallest member. Two
strings get equal skeletons exactly when UTS #39's would be equal, up to the
choice of representative, which equality does not see.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata

from authkit.errors import Conflict

_REFUSED_CATEGORIES = frozenset({"Cc", "Co", "Cs", "Cn"})
_DEFAULT_IGNORABLE_RANGES = (
    # DerivedCoreProperties.txt, Default_Ignorable_Code_Point, beside category Cf.
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG / JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ / AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTORS
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # unassigned, reserved as default ignorable
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement, reserved
)


def is_ignorable(char: str) -> bool:
    """Whether ``char`` renders as nothing: a format character (Cf) or default-ignorable."""
    if unicodedata.category(char) == "Cf":
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _DEFAULT_IGNORABLE_RANGES)


def is_invisible(char: str) -> bool:
    """Whether ``char`` is refused in an identifier.

    Ignorable, control, private-use, surrogate or unassigned: nothing a reader
    could tell apart or type back.
    """
    return is_ignorable(char) or unicodedata.category(char) in _REFUSED_CATEGORIES


def invisible_characters(text: str) -> list[str]:
    """The refused code points of ``text``, as ``U+XXXX`` names, in order of appearance."""
    return [f"U+{ord(c):04X}" for c in dict.fromkeys(text) if is_invisible(c)]


def canonical(value: str) -> str:
    r"""The form usernames and emails are compared, stored for uniqueness and counted in.

    NFKC, case-folded (then NFKC again, as Unicode's ``toNFKC_Casefold`` does),
    trimmed, with ignorable code points dropped: fullwidth ``ALICE``, ``Alice`` and
    ``"ali\u200bce"`` are all ``alice``. Uniqueness and the throttle's counters use
    it, so every spelling of one account shares one row and one budget.
    """
    if value.isascii():
        # The same answer, without the per-character work (sign-in canonicalises the
        # identifier several times): ASCII is NFKC-stable, its case fold is lower(),
        # and no ASCII code point is ignorable.
        return value.lower().strip()
    text = unicodedata.normalize("NFKC", value)
    text = unicodedata.normalize("NFKC", text.casefold())
    return "".join(c for c in text if not is_ignorable(c)).strip()


def needs_confusable_check(email: str) -> bool:
    """Whether a new ``email`` is checked against the skeletons of existing ones.

    Only when its canonical form is not pure ASCII: ASCII addresses are what mail
    systems route everywhere, and within ASCII UTS #39 would also call ``rn`` and
    ``m``, ``1`` and ``l`` look-alikes, refusing ``bob1@`` because ``bobl@``
    exists. Impersonation by an ASCII look-alike of an ASCII address is a matter
    for display, not registration; non-ASCII look-alikes are what this stops.
    """
    return not canonical(email).isascii()


def confusable_email_conflict() -> Conflict:
    """The refusal of an email that looks like one already registered (UTS #39)."""
    return Conflict(
        "The email looks like an address that is already registered.", reason="confusable_email"
    )


def skeleton(value: str) -> str:
    """The UTS #39 skeleton of ``canonical(value)``: equal for look-alike strings."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", canonical(value))
    mapped = "".join(prototypes.get(c, c) for c in decomposed)
    return unicodedata.normalize("NFD", mapped)


def skeleton_digest(value: str) -> str:
    """SHA-256 (hex) of ``skeleton``: a fixed-size, indexable column value."""
    return hashlib.sha256(skeleton(value).encode("utf-8", "surrogatepass")).hexdigest()


@functools.cache
def _prototypes() -> dict[str, str]:
    """Character -> representative of its confusable class (loaded once, on first use)."""
    from confusable_homoglyphs import utils  # type: ignore[import-untyped]

    pairs: dict[str, list[dict[str, str]]] = utils.load("confusables.json")
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = parent.setdefault(node, node)
        while root != parent[root]:
            root = parent[root]
        while node != root:
            parent[node], node = root, parent[node]
        return root

    for char, homoglyphs in pairs.items():
        for entry in homoglyphs:
            first, second = find(char), find(entry["c"])
            if first != second:
                parent[first] = second
    members: dict[str, list[str]] = {}
    for node in list(parent):
        members.setdefault(find(node), []).append(node)
    mapping: dict[str, str] = {}
    for group in members.values():
        representative = min(group, key=_preference)
        for node in group:
            if len(node) == 1 and node != representative:
                mapping[node] = representative
    return mapping


def _preference(member: str) -> tuple[bool, int, str]:
    """ASCII members first, single characters before sequences, then code point order."""
    return (not member.isascii(), len(member), member)


__all__ = [
    "canonical",
    "confusable_email_conflict",
    "invisible_characters",
    "is_ignorable",
    "is_invisible",
    "needs_confusable_check",
    "skeleton",
    "skeleton_digest",
]

"""Folding text for search: case- and accent-insensitive, as people type place names.

NFKD splits ``ü`` into ``u`` + a combining diaeresis, which is dropped; casefold
then handles case (``ß`` -> ``ss``). A few Nordic and Slavic letters have no
decomposition (``ð``, ``ø``, ``ł``...) and get their usual Latin spelling, so
``egilsstadir`` finds Egilsstaðir.
"""

from __future__ import annotations

import unicodedata

_UNDECOMPOSABLE = str.maketrans(
    {
        "ð": "d",
        "đ": "d",
        "ø": "o",
        "ł": "l",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "\u0131": "i",  # dotless i
        "\u2010": "-",  # the dashes, so "Dallas-Fort Worth" matches however typed
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2019": "'",
    }
)


def fold(text: str) -> str:
    """``text`` without accents, case-folded, whitespace collapsed to single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().translate(_UNDECOMPOSABLE).split())

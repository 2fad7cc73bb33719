"""Names in text, matched as whole words whatever their case, accents or punctuation.

"Café Nova", "CAFE-NOVA" and "cafe nova" are one name; "novalux" does not contain "nova"."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping


def fold(text: str) -> str:
    """Lower case, accents dropped, every run of non-alphanumerics one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"\w+", bare))


def terms_of(name: str, aliases: Iterable[str]) -> list[str]:
    folded = [fold(n) for n in (name, *aliases)]
    return sorted({t for t in folded if t})


def found_terms(texts: Mapping[str, str], terms: Iterable[str]) -> dict[str, list[str]]:
    """Each term that occurs in the texts, with the keys of the texts it occurs in."""
    ordered = sorted(set(terms), key=len, reverse=True)
    if not ordered:
        return {}
    # Folded text is words separated by single spaces, so a word boundary is a space or an end.
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(t) for t in ordered) + r")(?!\w)")
    found: dict[str, list[str]] = {}
    for key, text in texts.items():
        folded = fold(text)
        for term in _overlapping(pattern, folded):
            found.setdefault(term, [])
            if key not in found[term]:
                found[term].append(key)
    return found


def _overlapping(pattern: re.Pattern[str], text: str) -> set[str]:
    """Every term found, also one inside a longer term ("nova" in "cafe nova")."""
    hits: set[str] = set()
    position = 0
    while match := pattern.search(text, position):
        hits.add(match.group(1))
        # Retry just after this match's first word, so a shorter term inside it is found too.
        space = text.find(" ", match.start())
        position = match.end() if space == -1 or space >= match.end() else space + 1
    return hits

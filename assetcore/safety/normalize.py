"""Prompt text as the policy matches it: the usual bypasses undone before any word is compared.

NFKC folds compatibility forms (fullwidth, ligatures, math alphanumerics); format characters
(zero-width spaces and joiners, soft hyphens, bidi controls) are dropped; letters of other
scripts that look like Latin ones (Cyrillic a U+0430, Greek omicron U+03BF, Cherokee DU U+13DA)
become those, from Unicode's confusables table as the maintained `confusable-homoglyphs` package
ships it; accents are stripped. Leetspeak and repeated letters are left to the matcher
(policy.py), which reads "1" as "i" or "l" where a table would have to pick one. `readings` adds
the spellings that hide a word behind separators ("n.u.d.e", "n u d e", "nu de").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from confusable_homoglyphs.confusables import confusables_data

# Characters a word may be written with: letters, digits and the leetspeak symbols.
WORD_CHARS = "a-z0-9@$"
TOKEN = re.compile(f"[{WORD_CHARS}]+")
_INNER_PUNCTUATION = re.compile(rf"[^{WORD_CHARS}\s]+")
SHORT_FRAGMENT = 2  # tokens this short in a row are read as one spaced-out word


@cache
def _latin_lookalike(char: str) -> str:
    """The ASCII letter or digit `char` is confusable with, or `char` itself."""
    for glyph in confusables_data.get(char, ()):
        candidate = glyph["c"]
        if len(candidate) == 1 and candidate.isascii() and candidate.isalnum():
            return str(candidate)
    return char


def fold(text: str) -> str:
    """Lower-case ASCII-leaning text: NFKC, format characters removed, look-alikes mapped, accents off."""
    text = unicodedata.normalize("NFKC", text)
    chars = (c for c in text if unicodedata.category(c) != "Cf")
    text = "".join(c if c.isascii() else _latin_lookalike(c) for c in chars)
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").casefold()


@dataclass(frozen=True)
class Readings:
    """The folded text read for matching. `words`: space-separated tokens, split at every
    separator and, again, with punctuation inside words removed ("n.u.d.e" -> "nude"). `runs`:
    each run of spaced-out fragments joined ("a n u d e" -> "anude"), matched without word
    boundaries since a leading article joins the run too."""

    words: tuple[str, ...]
    runs: tuple[str, ...]


def _short_runs(tokens: list[str]) -> list[str]:
    """Runs of two or more tokens of at most SHORT_FRAGMENT characters, each joined into one string."""
    runs: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if token and len(token) <= SHORT_FRAGMENT:
            run.append(token)
            continue
        if len(run) > 1:
            runs.append("".join(run))
        run = []
    return runs


def readings(text: str) -> Readings:
    folded = fold(text)
    split = TOKEN.findall(folded)
    glued = _INNER_PUNCTUATION.sub("", folded).split()
    words = tuple(dict.fromkeys(" ".join(tokens) for tokens in (split, glued)))
    return Readings(words=words, runs=tuple(dict.fromkeys(_short_runs(split))))

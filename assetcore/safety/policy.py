"""The prompt policy: deny categories from policy.toml, matched on normalised text, with each
tenant's allow and deny lists applied on top.

Every term becomes a pattern that reads leetspeak (a class per letter: "e" is [e3], "i" is
[i1], "l" is [l1]), repeated letters (each letter may repeat), words written together or apart
("ku klux klan", "kukluxklan") and a plural; normalize.py undoes the rest.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from assetcore.safety.normalize import TOKEN, WORD_CHARS, Readings, fold, readings

_LEET = {"a": "a4@", "e": "e3", "i": "i1", "l": "l1", "o": "o0", "s": "s5$", "t": "t7"}
_BEFORE = f"(?<![{WORD_CHARS}])"
_AFTER = f"(?![{WORD_CHARS}])"
_TERM = re.compile(r"^[a-z0-9]+( [a-z0-9]+)*\*?$")
TENANT_DENY = "tenant_deny"
DEPLOYMENT_DENY = "deployment_deny"


class PolicyError(ValueError):
    """The policy table or a tenant's lists are malformed (a deployment error, found at startup)."""


@dataclass(frozen=True)
class Term:
    """One policy term and its pattern (with word boundaries; `loose` without, for joined runs)."""

    text: str
    bounded: re.Pattern[str]
    loose: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> Term:
        term = text.strip().lower()
        if not _TERM.match(term):
            raise PolicyError(f"policy term {text!r}: lower-case letters and digits, words, optional '*'")
        prefix = term.endswith("*")
        words = term.rstrip("*").split(" ")
        body = " ?".join("".join(f"[{re.escape(_LEET.get(c, c))}]+" for c in word) for word in words)
        body += f"[{WORD_CHARS}]*" if prefix else "(?:[e3]?[s5$])?"
        return cls(term, re.compile(_BEFORE + body + _AFTER), re.compile(body))

    def found_in(self, text: Readings) -> bool:
        return any(self.bounded.search(w) for w in text.words) or any(self.loose.search(r) for r in text.runs)


@dataclass(frozen=True)
class Category:
    name: str
    label: str  # what a refusal says: "sexual content"
    terms: tuple[Term, ...]
    together: tuple[tuple[Term, ...], ...] = ()  # applies when a term of each group is present
    overridable: bool = True  # whether a tenant's allow list may lift it

    def matched(self, text: Readings) -> Term | None:
        """The term (or, for `together`, the last group's term) the text falls under, if any."""
        for term in self.terms:
            if term.found_in(text):
                return term
        hits = [next((t for t in group if t.found_in(text)), None) for group in self.together]
        if hits and all(hits):
            return hits[-1]
        return None

    def without(self, allowed: frozenset[str]) -> Category:
        def keep(terms: Iterable[Term]) -> tuple[Term, ...]:
            return tuple(t for t in terms if t.text not in allowed)

        return Category(
            self.name,
            self.label,
            keep(self.terms),
            tuple(keep(g) for g in self.together),
            self.overridable,
        )


@dataclass(frozen=True)
class Violation:
    category: str
    label: str
    term: str  # the policy's term, never the caller's text

    @property
    def hint(self) -> str:
        """The term as a refusal may show it: its first letter only."""
        return self.term[0] + "\u2026"


def _terms(raw: Sequence[str]) -> tuple[Term, ...]:
    return tuple(Term.parse(t) for t in raw)


def _configured(raw: Iterable[str]) -> list[str]:
    """Terms from settings as the table writes them: folded like prompts, punctuation as spaces."""
    terms = []
    for text in raw:
        words = " ".join(TOKEN.findall(fold(text)))
        if words:
            terms.append(words + ("*" if text.strip().endswith("*") else ""))
    return terms


def parse_table(data: Mapping[str, Any]) -> tuple[Category, ...]:
    """Categories from the table's `categories` (TOML order); "@name" groups expand to that
    category's terms."""
    raw: Mapping[str, Mapping[str, Any]] = data.get("categories", {})
    categories: list[Category] = []
    for name, entry in raw.items():
        groups: list[tuple[Term, ...]] = []
        for group in entry.get("together", []):
            words: list[str] = []
            for item in group:
                if item.startswith("@"):
                    if item[1:] not in raw:
                        raise PolicyError(f"category {name}: {item} names no category")
                    words.extend(raw[item[1:]].get("terms", []))
                else:
                    words.append(item)
            groups.append(_terms(words))
        categories.append(
            Category(
                name,
                str(entry.get("label", name)),
                _terms(entry.get("terms", [])),
                tuple(groups),
                bool(entry.get("overridable", True)),
            )
        )
    return tuple(categories)


@cache
def default_table() -> tuple[Category, ...]:
    """The categories of the policy.toml shipped with this package."""
    text = resources.files("assetcore.safety").joinpath("policy.toml").read_text(encoding="utf-8")
    return parse_table(tomllib.loads(text))


class PromptPolicy:
    """One tenant's policy: the table less what it allows, plus the deployment's and its own deny lists."""

    def __init__(
        self,
        table: Sequence[Category],
        *,
        allow_terms: Iterable[str] = (),
        allow_categories: Iterable[str] = (),
        deny_terms: Iterable[str] = (),
        deployment_deny_terms: Iterable[str] = (),
    ) -> None:
        by_name = {c.name: c for c in table}
        lifted = set(allow_categories)
        for name in sorted(lifted):
            if name not in by_name:
                raise PolicyError(f"allow_categories: unknown category {name!r} (known: {sorted(by_name)})")
            if not by_name[name].overridable:
                raise PolicyError(f"allow_categories: the category {name!r} cannot be allowed")
        allowed = frozenset(_configured(allow_terms))
        self.categories: tuple[Category, ...] = (
            *(c if not c.overridable else c.without(allowed) for c in table if c.name not in lifted),
            Category(
                DEPLOYMENT_DENY, "this deployment's deny list", _terms(_configured(deployment_deny_terms))
            ),
            Category(TENANT_DENY, "this tenant's deny list", _terms(_configured(deny_terms))),
        )

    def violation(self, text: str) -> Violation | None:
        """The first category (in table order) the text falls under, or None."""
        read = readings(text)
        for category in self.categories:
            term = category.matched(read)
            if term is not None:
                return Violation(category.name, category.label, term.text)
        return None

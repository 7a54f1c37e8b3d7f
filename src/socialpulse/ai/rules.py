"""Rule and lexicon scoring: a text's view, the rules, and the score of a set of rules.

The rule sets themselves are by concern: ``intent_rules`` (question, praise, purchase intent,
collaboration, complaint cues), ``toxicity_rules`` and ``spam_rules``.

Every rule has a name and a weight in 0..1; a text's score for an intent is the strongest
matching rule's weight plus 0.05 for each further distinct match (capped at 0.99), and each
match is reported as evidence (``rule name: matched text``). An intent fires at 0.5.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from socialpulse.ai.lexicon import PhraseMatcher, words_of

FIRE_AT = 0.5


@dataclass(frozen=True)
class TextView:
    """A text with its lower-cased form and words, computed once for all rule sets."""

    text: str
    lowered: str
    words: list[str]

    @classmethod
    def of(cls, text: str) -> TextView:
        return cls(text, text.lower(), words_of(text))


@dataclass(frozen=True)
class Rule:
    """A named regular expression; it runs only when one of its trigger substrings is in
    the lower-cased text (a cheap filter: most texts trigger few rules)."""

    name: str
    weight: float
    pattern: re.Pattern[str]
    trigger: re.Pattern[str] | None = None


@dataclass(frozen=True)
class LexiconRule:
    """Named lists of words and phrases, matched on whole words; each entry carries its
    rule name and weight, so the lexicons of a rule set are searched in one pass."""

    entries: tuple[tuple[str, tuple[str, float]], ...]
    matcher: PhraseMatcher[tuple[str, float]]


@dataclass
class RuleScore:
    score: float
    evidence: list[tuple[str, float]]

    @property
    def fired(self) -> bool:
        return self.score >= FIRE_AT


def phrase_rule(name: str, weight: float, *items: str) -> LexiconRule:
    entries = tuple((item, (name, weight)) for item in items)
    return LexiconRule(entries, PhraseMatcher(entries))


def merge_lexicons(rules: Iterable[Rule | LexiconRule]) -> tuple[Rule | LexiconRule, ...]:
    """The regex rules as they are, plus all lexicons folded into one matcher."""
    patterns = [rule for rule in rules if isinstance(rule, Rule)]
    entries = [e for rule in rules if isinstance(rule, LexiconRule) for e in rule.entries]
    if not entries:
        return tuple(patterns)
    return (*patterns, LexiconRule(tuple(entries), PhraseMatcher(entries)))


def regex_rule(name: str, weight: float, pattern: str, triggers: str | None = None) -> Rule:
    """`triggers`: substrings ("a|b|c") of which the lower-cased text must hold at least one
    before the pattern is tried (None: always tried)."""
    trigger = re.compile("|".join(map(re.escape, triggers.split("|")))) if triggers else None
    return Rule(name, weight, re.compile(pattern, re.IGNORECASE), trigger)


def score_rules(text: str | TextView, rules: Iterable[Rule | LexiconRule]) -> RuleScore:
    view = text if isinstance(text, TextView) else TextView.of(text)
    lowered = view.lowered
    best = 0.0
    seen: dict[str, float] = {}

    def add(name: str, fragment: str, weight: float) -> None:
        nonlocal best
        key = f"{name}: {fragment}"
        if key not in seen:
            seen[key] = weight
            best = max(best, weight)

    for rule in rules:
        if isinstance(rule, LexiconRule):
            for phrase, (name, weight) in rule.matcher.find(view.words):
                add(name, phrase, weight)
            continue
        if rule.trigger is not None and rule.trigger.search(lowered) is None:
            continue
        for match in rule.pattern.finditer(lowered):
            add(rule.name, " ".join(match.group(0).split()), rule.weight)
    if not seen:
        return RuleScore(0.0, [])
    score = min(0.99, best + 0.05 * (len(seen) - 1))
    evidence = sorted(seen.items(), key=lambda item: -item[1])
    return RuleScore(round(score, 4), evidence)

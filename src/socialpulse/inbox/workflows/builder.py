"""The workflow editor's rows: each condition and action type with its operators, the values it
takes and a line of help, built from the workflow schemas, so the form and the validation agree.

A row is what the form posts for one condition (type, operator, values, a minimum confidence)
or one action (type, value). ``conditions_from_rows`` and ``actions_from_rows`` turn rows into
the dicts `WorkflowDefinition` validates; ``rows_from_conditions`` and ``rows_from_actions`` do
the reverse for a saved workflow. No I/O: the account and member choices are passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from socialpulse.inbox.workflows.schemas import IntentValue, PlatformValue, SentimentValue

ValueKind = Literal["choices", "words", "pattern", "number", "text", "template", "none"]

PLATFORM_NAMES = {
    "youtube": "YouTube",
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "simulated": "Simulated (demo)",
}
INTENT_WORDS = {
    "question": "asks a question",
    "complaint": "complains",
    "praise": "praises",
    "purchase_intent": "wants to buy",
    "collaboration": "proposes a collaboration",
    "spam": "is spam",
    "other": "something else",
}
SENTIMENT_WORDS = {"positive": "positive", "neutral": "neutral", "negative": "negative"}
# The languages the analyser names most; a saved workflow's other codes are kept as choices.
LANGUAGES = {
    "en": "English",
    "es": "Spanish",
    "pt": "Portuguese",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "nl": "Dutch",
    "pl": "Polish",
    "tr": "Turkish",
    "ru": "Russian",
    "ar": "Arabic",
    "hi": "Hindi",
    "id": "Indonesian",
    "ja": "Japanese",
    "ko": "Korean",
    "zh": "Chinese",
    "und": "unknown",
}
assert set(PLATFORM_NAMES) == set(get_args(PlatformValue)), "keep in step with the schemas"
assert set(INTENT_WORDS) == set(get_args(IntentValue)), "keep in step with the schemas"
assert set(SENTIMENT_WORDS) == set(get_args(SentimentValue)), "keep in step with the schemas"

# Every operator a row can carry; each type allows some of them (the first is its default).
OPERATORS = {
    "is": "is",
    "not": "is not",
    "contains": "contains any of",
    "matches": "matches (any case)",
    "matches_case": "matches (exact case)",
    "min": "at least",
    "max": "at most",
}


@dataclass(frozen=True)
class RowType:
    """One condition or action type as the editor shows it."""

    type: str
    label: str
    help: str
    value: ValueKind
    operators: tuple[tuple[str, str], ...] = ()
    choices: tuple[tuple[str, str], ...] = ()
    confidence: bool = False
    placeholder: str = ""


def _choices(names: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(names.items())


def condition_types(
    accounts: Sequence[tuple[int, str]] = (), languages: Sequence[str] = ()
) -> dict[str, RowType]:
    """Condition types in the editor's order; `accounts` are (id, label) of the workspace's
    accounts, `languages` extra codes to offer (those of a saved workflow)."""
    langs = LANGUAGES | {code: code for code in languages if code not in LANGUAGES}
    any_of = (("is", "is any of"),)
    yes_no = (("is", "is"), ("not", "is not"))
    return {
        t.type: t
        for t in (
            RowType(
                "intent",
                "Intent",
                "What the comment wants, as the AI read it. Optionally only when it is at "
                "least this sure (0 to 1).",
                "choices",
                any_of,
                _choices(INTENT_WORDS),
                confidence=True,
            ),
            RowType(
                "sentiment",
                "Sentiment",
                "The comment's tone, as the AI read it; optionally only when it is at least "
                "this sure (0 to 1).",
                "choices",
                any_of,
                _choices(SENTIMENT_WORDS),
                confidence=True,
            ),
            RowType(
                "keywords",
                "Keywords",
                "Any of these words or phrases, as whole words, in any case. Separate them "
                "with commas.",
                "words",
                (("contains", OPERATORS["contains"]),),
                placeholder="refund, broken, late",
            ),
            RowType(
                "regex",
                "Pattern",
                "A regular expression (RE2: no lookarounds or backreferences) the text must "
                "match somewhere.",
                "pattern",
                (("matches", OPERATORS["matches"]), ("matches_case", OPERATORS["matches_case"])),
                placeholder=r"order\s*#?\d+",
            ),
            RowType(
                "platform",
                "Platform",
                "Where the comment was posted.",
                "choices",
                any_of,
                _choices(PLATFORM_NAMES),
            ),
            RowType(
                "account_id",
                "Account",
                "Which of your tracked accounts it was posted on.",
                "choices",
                any_of,
                tuple((str(i), label) for i, label in accounts),
            ),
            RowType(
                "language",
                "Language",
                "The language the comment is written in, as detected.",
                "choices",
                any_of,
                _choices(langs),
            ),
            RowType(
                "toxic",
                "Toxic",
                "Whether the AI found the comment toxic (insults, harassment).",
                "none",
                yes_no,
            ),
            RowType(
                "superfan",
                "Superfan",
                "Whether the author is one of your superfans (see the inbox settings).",
                "none",
                yes_no,
            ),
            RowType(
                "fan_followers",
                "Author's followers",
                "The author's follower count on the platform; use two rows for a range.",
                "number",
                (("min", OPERATORS["min"]), ("max", OPERATORS["max"])),
                placeholder="10000",
            ),
        )
    }


TEMPLATE_HELP = (
    "The reply; {fan_name}, {fan_handle}, {platform} and {post_url} are filled in. Left empty: "
    "your response template for the comment's intent and language (Settings, AI)."
)


def action_types(members: Sequence[tuple[int, str]] = ()) -> dict[str, RowType]:
    """Action types in the editor's order; `members` are (user id, label) of who can be
    assigned."""
    return {
        t.type: t
        for t in (
            RowType(
                "label",
                "Add a label",
                "Adds this label to the comment.",
                "text",
                placeholder="sales",
            ),
            RowType(
                "send_to_approval",
                "Draft a reply for approval",
                "Drafts the reply for someone to approve in the inbox. " + TEMPLATE_HELP,
                "template",
            ),
            RowType(
                "auto_reply",
                "Reply automatically",
                "Queues the reply without approval, paced by the account's reply limits. "
                + TEMPLATE_HELP,
                "template",
            ),
            RowType(
                "flag", "Flag", "Marks the comment as flagged for a person to look at.", "none"
            ),
            RowType(
                "assign",
                "Assign to",
                "Assigns the comment to this member.",
                "choices",
                choices=tuple((str(i), label) for i, label in members),
            ),
            RowType("ignore", "Ignore", "Marks the comment as ignored.", "none"),
            RowType("hide", "Hide", "Hides the comment, on the platform too where it can.", "none"),
            RowType(
                "set_priority",
                "Set priority",
                "Sets the comment's priority, 0 (lowest) to 100 (highest).",
                "number",
                placeholder="80",
            ),
        )
    }


@dataclass
class Row:
    """One posted row, as typed; `error` is shown next to it."""

    type: str = ""
    op: str = ""
    values: list[str] = field(default_factory=list)
    confidence: str = ""
    error: str = ""

    @property
    def text(self) -> str:
        return ", ".join(self.values)

    @property
    def blank(self) -> bool:
        return not self.type


class RowError(ValueError):
    pass


def _split(values: Sequence[str]) -> list[str]:
    """Values from a multiple select, or typed with commas in a text box (without JS)."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _pick(spec: RowType, values: Sequence[str]) -> list[str]:
    """Choice values by key or by their words ("wants to buy" or purchase_intent)."""
    by_words = {label.lower(): key for key, label in spec.choices} | {
        key.lower(): key for key, _ in spec.choices
    }
    picked: list[str] = []
    for value in _split(values):
        key = by_words.get(value.lower())
        if key is None:
            known = ", ".join(label for _, label in spec.choices) or "none"
            raise RowError(f"{value!r} is not one of: {known}")
        if key not in picked:
            picked.append(key)
    if not picked:
        raise RowError("choose at least one value")
    return picked


def _number(text: str, what: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise RowError(f"{what}: {text.strip()!r} is not a number") from None


def _whole(text: str, what: str) -> int:
    value = _number(text, what)
    if value != int(value):
        raise RowError(f"{what}: {text.strip()!r} is not a whole number")
    return int(value)


def _operator(spec: RowType, op: str) -> str:
    allowed = [key for key, _ in spec.operators]
    if not op:
        return allowed[0]
    if op == "is" and op not in allowed:  # "is" on a blank row (no JS) means the default
        return allowed[0]
    if op not in allowed:
        words = " or ".join(f"'{label}'" for _, label in spec.operators)
        raise RowError(f"'{OPERATORS.get(op, op)}' does not apply to {spec.label}: use {words}")
    return op


def condition_of(row: Row, specs: Mapping[str, RowType]) -> dict[str, Any]:
    spec = specs.get(row.type)
    if spec is None:
        raise RowError(f"unknown condition type {row.type!r}")
    op = _operator(spec, row.op)
    out: dict[str, Any] = {"type": spec.type}
    if spec.value == "choices":
        picked = _pick(spec, row.values)
        out["values"] = [int(v) for v in picked] if spec.type == "account_id" else picked
        if spec.confidence and row.confidence.strip():
            out["min_confidence"] = _number(row.confidence, "minimum confidence")
    elif spec.value == "words":
        words = _split(row.values)
        if not words:
            raise RowError("type at least one word")
        out["words"] = words
    elif spec.value == "pattern":
        pattern = "".join(row.values).strip()
        if not pattern:
            raise RowError("type a pattern")
        out |= {"pattern": pattern, "ignore_case": op == "matches"}
    elif spec.value == "number":
        out[op] = _whole("".join(row.values), spec.label.lower())
    else:
        out["value"] = op == "is"
    return out


def action_of(row: Row, specs: Mapping[str, RowType]) -> dict[str, Any]:
    spec = specs.get(row.type)
    if spec is None:
        raise RowError(f"unknown action type {row.type!r}")
    text = "".join(row.values)
    out: dict[str, Any] = {"type": spec.type}
    if spec.type == "label":
        out["name"] = text.strip()
        if not out["name"]:
            raise RowError("type the label to add")
    elif spec.type == "assign":
        out["user_id"] = int(_pick(spec, row.values)[0])
    elif spec.type == "set_priority":
        out["priority"] = _whole(text, "priority")
    elif spec.value == "template" and text.strip():
        out["template"] = text
    return out


def _convert(
    rows: Sequence[Row], specs: Mapping[str, RowType], convert: Any
) -> tuple[list[dict[str, Any]], list[int]]:
    """The filled rows as dicts, and the row index of each (to put an error next to it);
    rows that cannot be read get their `error` set instead."""
    items: list[dict[str, Any]] = []
    where: list[int] = []
    for index, row in enumerate(rows):
        if row.blank:
            continue
        try:
            items.append(convert(row, specs))
            where.append(index)
        except RowError as exc:
            row.error = str(exc)
    return items, where


def conditions_from_rows(
    rows: Sequence[Row], specs: Mapping[str, RowType]
) -> tuple[list[dict[str, Any]], list[int]]:
    return _convert(rows, specs, condition_of)


def actions_from_rows(
    rows: Sequence[Row], specs: Mapping[str, RowType]
) -> tuple[list[dict[str, Any]], list[int]]:
    return _convert(rows, specs, action_of)


def rows_from_conditions(conditions: Sequence[Mapping[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for cond in conditions:
        kind = str(cond.get("type", ""))
        if "values" in cond:
            confidence = cond.get("min_confidence")
            rows.append(
                Row(
                    kind,
                    "is",
                    [str(v) for v in cond["values"]],
                    "" if confidence is None else str(confidence),
                )
            )
        elif kind == "keywords":
            rows.append(Row(kind, "contains", [", ".join(cond.get("words", []))]))
        elif kind == "regex":
            op = "matches" if cond.get("ignore_case", True) else "matches_case"
            rows.append(Row(kind, op, [str(cond.get("pattern", ""))]))
        elif kind == "fan_followers":
            for bound in ("min", "max"):
                if cond.get(bound) is not None:
                    rows.append(Row(kind, bound, [str(cond[bound])]))
        else:
            rows.append(Row(kind, "is" if cond.get("value", True) else "not"))
    return rows


def rows_from_actions(actions: Sequence[Mapping[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for action in actions:
        kind = str(action.get("type", ""))
        value = {
            "label": action.get("name"),
            "assign": action.get("user_id"),
            "set_priority": action.get("priority"),
        }.get(kind, action.get("template"))
        rows.append(Row(kind, "", [] if value is None else [str(value)]))
    return rows


def rows_from_form(form: Mapping[str, Any], prefix: str) -> list[Row]:
    """Rows posted as `{prefix}{n}_type`, `_op`, `_value` (repeated for a multiple select)
    and `_conf`; in the order of n, which has gaps where a row was removed in the browser."""
    getlist = form.getlist  # type: ignore[attr-defined]
    indexes = sorted(
        {
            int(key[len(prefix) :].split("_", 1)[0])
            for key in form
            if key.startswith(prefix)
            and key[len(prefix) :].split("_", 1)[0].isdigit()
            and len(key[len(prefix) :].split("_", 1)[0]) < 4
        }
    )
    rows = []
    for n in indexes:
        name = f"{prefix}{n}_"
        rows.append(
            Row(
                type=str(form.get(name + "type", "")).strip(),
                op=str(form.get(name + "op", "")).strip(),
                values=[str(v) for v in getlist(name + "value")],
                confidence=str(form.get(name + "conf", "")),
            )
        )
    return rows

"""Dashboard forms in people's words: text typed into a form becomes a request schema, and what
is wrong comes back per field ("Positive share: must be at most 100 %"), never as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

Kind = Literal["int", "float", "percent"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: Kind
    help: str = ""

    def shown(self, value: Any) -> str:
        """A stored value as the form shows it (a ratio as a percentage)."""
        if value is None:
            return ""
        if self.kind == "percent":
            return f"{float(value) * 100:g}"
        if self.kind == "float":
            return f"{float(value):g}"
        return str(value)


_NUMBER_WORDS = {"int": "a whole number", "float": "a number", "percent": "a percentage"}
_BOUND_WORDS = {
    "greater_than_equal": ("ge", "at least"),
    "less_than_equal": ("le", "at most"),
    "greater_than": ("gt", "more than"),
    "less_than": ("lt", "less than"),
}


def _bound(field: FormField, detail: Mapping[str, Any]) -> str | None:
    words = _BOUND_WORDS.get(str(detail.get("type")))
    if words is None:
        return None
    limit = (detail.get("ctx") or {}).get(words[0])
    if limit is None:
        return None
    if field.kind == "percent":
        return f"must be {words[1]} {float(limit) * 100:g} %"
    return (
        f"must be {words[1]} {limit:,}"
        if isinstance(limit, int)
        else f"must be {words[1]} {limit:g}"
    )


def parse(
    model: type[M], fields: list[FormField], raw: Mapping[str, str]
) -> tuple[M | None, dict[str, str]]:
    """The schema from the typed text, or the errors per field name (nothing is half-read)."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for field in fields:
        text = raw.get(field.name, "").strip().rstrip("%").strip().replace(",", "")
        if not text:
            errors[field.name] = "fill this in"
            continue
        try:
            number = float(text)
        except ValueError:
            errors[field.name] = f"{raw.get(field.name, '')!r} is not {_NUMBER_WORDS[field.kind]}"
            continue
        if field.kind == "int":
            if number != int(number):
                errors[field.name] = f"{text!r} is not a whole number"
                continue
            data[field.name] = int(number)
        else:
            data[field.name] = number / 100 if field.kind == "percent" else number
    if errors:
        return None, errors
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        by_name = {f.name: f for f in fields}
        for detail in exc.errors(include_url=False):
            name = str(detail["loc"][0]) if detail["loc"] else ""
            known = by_name.get(name)
            message = (_bound(known, detail) if known else None) or str(detail["msg"])
            errors.setdefault(name, message.removeprefix("Value error, "))
        return None, errors


def summary(fields: list[FormField], errors: Mapping[str, str]) -> list[str]:
    """The errors as sentences for the top of the form, in the form's order."""
    labels = {f.name: f.label for f in fields}
    return [f"{labels.get(name, name)}: {message}" for name, message in errors.items()]

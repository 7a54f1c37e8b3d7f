"""The rule builder's rows and the workflow schema agree: every condition and action type a
workflow can hold comes back from its rows unchanged, and each type the schema knows has a row."""

from __future__ import annotations

from typing import Any, get_args

from socialpulse.inbox.workflows import builder
from socialpulse.inbox.workflows.schemas import Action, Condition, WorkflowDefinition

CONDITIONS: list[dict[str, Any]] = [
    {"type": "platform", "values": ["youtube", "simulated"]},
    {"type": "account_id", "values": [7]},
    {"type": "sentiment", "values": ["negative"], "min_confidence": 0.7},
    {"type": "intent", "values": ["question", "complaint"]},
    {"type": "language", "values": ["en", "sv"]},
    {"type": "keywords", "words": ["refund", "money back"]},
    {"type": "regex", "pattern": r"order\s*#?\d+", "ignore_case": False},
    {"type": "toxic", "value": False},
    {"type": "superfan", "value": True},
    {"type": "fan_followers", "min": 100, "max": 5000},
]
ACTIONS: list[dict[str, Any]] = [
    {"type": "auto_reply", "template": "Merci {fan_name} 💚"},
    {"type": "send_to_approval"},
    {"type": "flag"},
    {"type": "label", "name": "refunds"},
    {"type": "assign", "user_id": 3},
    {"type": "ignore"},
    {"type": "hide"},
    {"type": "set_priority", "priority": 90},
]


def _normalised(definition: WorkflowDefinition) -> tuple[list[Any], list[Any]]:
    dumped = definition.model_dump(mode="json", exclude_none=True)
    return dumped["conditions"], dumped["actions"]


def test_every_condition_and_action_type_round_trips_through_the_rows() -> None:
    specs = builder.condition_types([(7, "@studio")], ["sv"])
    actions = builder.action_types([(3, "Sam")])
    cond_rows = builder.rows_from_conditions(CONDITIONS)
    action_rows = builder.rows_from_actions(ACTIONS)
    conditions, _ = builder.conditions_from_rows(cond_rows, specs)
    back, _ = builder.actions_from_rows(action_rows, actions)
    assert [r.error for r in (*cond_rows, *action_rows)] == [""] * (len(cond_rows) + 8)
    original = WorkflowDefinition(conditions=CONDITIONS, actions=ACTIONS)  # type: ignore[arg-type]
    rebuilt = WorkflowDefinition(conditions=conditions, actions=back)  # type: ignore[arg-type]
    # fan_followers with both bounds becomes two rows (both must hold): the same rule.
    followers = [c for c in _normalised(rebuilt)[0] if c["type"] == "fan_followers"]
    assert followers == [
        {"type": "fan_followers", "min": 100},
        {"type": "fan_followers", "max": 5000},
    ]
    others = [c for c in _normalised(rebuilt)[0] if c["type"] != "fan_followers"]
    assert others == [c for c in _normalised(original)[0] if c["type"] != "fan_followers"]
    assert _normalised(rebuilt)[1] == _normalised(original)[1]


def test_the_builder_offers_every_type_the_schema_knows() -> None:
    def types(union: Any) -> set[str]:
        members = get_args(get_args(union)[0])
        return {get_args(m.model_fields["type"].annotation)[0] for m in members}

    assert set(builder.condition_types()) == types(Condition)
    assert set(builder.action_types()) == types(Action)

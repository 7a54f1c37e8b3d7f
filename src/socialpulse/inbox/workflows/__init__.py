"""Inbox automation: workflows (when → if → do) and intent-based suggested replies.

A workflow has a trigger (`new_interaction`: applied by ingestion right after new interactions
are stored; `unanswered_for`: applied by the periodic `run_workflow_time_triggers` once an
interaction has waited `trigger_hours` since it was posted on the platform, however late it
was imported), conditions that must ALL
hold, and actions applied in order. Workflows run by `priority` (lower first, then id);
a match of a workflow with `stop_processing` stops the lower-priority ones for that interaction
in that pass. A workflow acts at most once per interaction (`WorkflowMatch` is unique per
workflow and interaction).

Status decisions (the `InteractionStatus` enum has no "queued" value):

* `auto_reply` queues the reply through `inbox.replies.enqueue_reply` without approval and
  leaves the interaction's status as it was; the reply queue marks it `answered` when the reply
  is actually sent. Meanwhile the queued item is the in-between state: no intent suggestion is
  drafted for it (nobody should approve a second reply) and `unanswered_for` workflows skip
  interactions with a pending or in-flight reply.
* `send_to_approval` drafts the reply into `suggested_reply` and sets `awaiting_approval`.
* `flag` → `flagged`, `ignore` → `ignored`; the last status-setting action wins.
* `hide` marks the interaction hidden in the inbox where the platform lets an account hide
  comments (YouTube, Instagram, simulated); elsewhere the match records why it was skipped.

Regular expressions (the `regex` condition, and `keywords` built into one) run on RE2
(`google-re2`), whose matching time is linear in the text whatever the pattern: Python's `re`
backtracks, and one pattern like `(.|.)*~` held the GIL, and so every request of the process,
for minutes. RE2 has no backreferences or lookarounds; such patterns are rejected when a
workflow is saved or dry-run (422, saying which condition and why), as are patterns over 512
characters. Unlike `re`, RE2's `\\w`, `\\d`, `\\s` and `\\b` are ASCII-only (`\\p{L}` is a
letter of any script); case-insensitive matching folds Unicode case like `re.IGNORECASE`
(except Turkish dotless and dotted i, which RE2 keeps apart from i and I).

Modules: `schemas` (conditions, actions and the request/response models), `rules` (RE2
patterns), `engine` (evaluating and applying workflows, suggestions), `service` (saving,
listing and dry-running workflows). Reply templates are `socialpulse.kit.templates`; the
intent-based suggestions read the workspace's response templates from `socialpulse.ai`.
"""

"""The human-paced reply queue: `pacing` (limits, text checks, send-time planning), `service`
(queueing, approving, cancelling, retrying replies and setting limits) and `sender` (the tick
that sends due replies through the platform's publisher, never twice)."""

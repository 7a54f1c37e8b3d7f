"""Credits and billing: plans, pricing rules, one wallet per workspace, the append-only ledger."""

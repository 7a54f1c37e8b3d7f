"""Billing: plans, credits, the ledger, and payments through a provider."""

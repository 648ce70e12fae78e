"""Billing: charges to agents and their settlement, bills of plates, daily statements per agent
and their reconciliation."""

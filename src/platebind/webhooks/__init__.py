"""Domain events: the outbox, written in the same transaction as the change it reports."""

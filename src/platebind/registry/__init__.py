"""The registry: scopes, agents and their keys, time-bound exclusive bindings, transfers,
the change feed and the audit log."""

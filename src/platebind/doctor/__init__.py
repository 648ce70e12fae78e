"""``platebind doctor``: check a deployment's configuration and state, and say what to fix.

Every check gives a ``Finding``: ``ok``, ``warn`` (works, but something will go wrong or is
degraded) or ``fail`` (a misconfiguration that breaks part of the service or weakens its
security); the command exits 1 when any check failed. It only reads: it never creates a
database file, never migrates and never sends an e-mail.

``settings`` checks the ``PLATEBIND_*`` settings (no database needed); ``database`` the
database, its schema and, on a schema at Alembic's head, the state the background jobs leave
(the outbox, the daily cycle); ``cli`` runs them all and prints the report.
"""

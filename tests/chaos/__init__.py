"""The crash harness: ``platebind serve`` under load, killed with SIGKILL at random moments,
restarted, and every invariant checked in the database afterwards (``python -m tests.chaos``).
"""

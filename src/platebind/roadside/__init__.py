"""Roadside parking bills (路邊停車費): issued per plate by wardens and meters, auto-paid by the
agent bound in the roadside scope, else payable in the portal; overdue bills get a reminder,
then a surcharge."""

"""Tariffs: the tariff model, the fee engine (pure) and the reader of Taipei's tariff texts."""

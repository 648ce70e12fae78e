"""The traffic simulator: realistic LPR traffic (arrivals by time of day, stay lengths, misreads)
driven through the real gate API (``platebind simulate``; ``make run``'s demo uses it)."""

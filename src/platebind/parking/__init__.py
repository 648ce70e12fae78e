"""Parking lots: the city's lot feed imported as lots, their entrances and read tariffs."""

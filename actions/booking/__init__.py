"""Stays: the catalog of properties and rooms, quotes by season, inventory holds, reservations
and their cancellation policy."""

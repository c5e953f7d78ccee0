"""Stays and tours: the cancellation policy now; inventory and reservations to come."""

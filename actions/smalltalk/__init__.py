"""Greetings, thanks, goodbyes, the help menu and the fallback."""

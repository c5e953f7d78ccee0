"""The HTTP edge's rules that any channel applies: limits, JSON bodies, credentials."""

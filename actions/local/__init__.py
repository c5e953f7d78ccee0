"""Weather and local events for guests: the forecast at the property's coordinates with a
suggestion per day, the month's climate beyond the forecast's reach, and what is on nearby from
the property's calendar feeds and its own list."""

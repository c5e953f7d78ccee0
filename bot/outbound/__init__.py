"""What leaves the engine outside a turn: paced delivery, proactive replies, media."""

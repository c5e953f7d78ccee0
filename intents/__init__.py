"""Understanding guests and staff: text in, intent with confidence, entities and locale out.

The package imports nothing itself: its text helpers serve light callers (the booking
conversation, the CLI) without loading scikit-learn, which only ``intents.classifier`` needs.
"""

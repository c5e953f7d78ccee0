"""Alerts for the staff: one model (type, severity, dedupe key), a routing file, grouping and
quiet hours, delivery to staff chats and e-mail, and the stored history (``docs/alerts.md``)."""

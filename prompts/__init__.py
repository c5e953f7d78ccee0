"""Jinja templates of every reply, and ``experiments.yaml`` (package data, no code)."""

"""gettext catalogs (pt_BR, en, es) of the wording in ``prompts/`` (package data, no code)."""

"""Alembic migrations of the business tables (``rsv360 db upgrade``)."""

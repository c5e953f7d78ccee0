"""Forecasts for staff: demand with intervals, cancellation risk and price suggestions."""

from actions.forecasts.conversation import create_router

__all__ = ["create_router"]

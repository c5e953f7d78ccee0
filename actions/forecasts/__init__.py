"""Forecasts for staff: demand with intervals, cancellation risk and price suggestions."""

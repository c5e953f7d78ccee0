"""Forecasts for staff: demand with intervals, cancellation risk and price suggestions.

The package imports nothing itself, so its table models load without scikit-learn.
"""

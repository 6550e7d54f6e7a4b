"""Sensors that wait on Zadig workflow tasks. Import them from their modules."""

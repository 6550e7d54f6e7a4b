"""Triggers that wait on Zadig from the Airflow triggerer. Import them from their modules."""

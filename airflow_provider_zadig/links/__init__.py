"""Extra links that open Zadig pages from the Airflow UI. Import them from :mod:`.zadig`."""

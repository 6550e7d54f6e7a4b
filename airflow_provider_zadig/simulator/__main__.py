"""Run the Zadig simulator: ``python -m airflow_provider_zadig.simulator --help``."""

import sys

from airflow_provider_zadig.simulator.cli import main

sys.exit(main())

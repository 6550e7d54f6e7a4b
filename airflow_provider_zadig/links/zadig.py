"""The "Zadig Task" extra link: opens the Zadig workflow task that an Airflow task started or follows."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey

log = logging.getLogger(__name__)

#: XCom key of the Zadig web address of the workflow task, pushed by the operators before they wait.
ZADIG_TASK_URL_XCOM_KEY = "zadig_task_url"


class ZadigWorkflowTaskLink(BaseOperatorLink):
    """
    Link to the Zadig page of the workflow task, read from the task instance's ``zadig_task_url`` XCom.

    Airflow 3 computes extra links on the worker when a try ends or defers and stores them in XCom, so
    the operators push the address before they start waiting: the link works for running, deferred
    and failed tasks alike. The link is empty when the task has not reached Zadig yet.
    """

    name = "Zadig Task"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        """Return the Zadig web address of the workflow task, or ``""`` when it is unknown."""
        # Airflow renders a link next to every task of a DAG run, so a failed lookup must not raise.
        try:
            from airflow.providers.common.compat.sdk import XCom

            url = XCom.get_value(key=ZADIG_TASK_URL_XCOM_KEY, ti_key=ti_key)
        except Exception:
            log.warning(
                "Could not read XCom %r of task %s, so the Zadig Task link is empty",
                ZADIG_TASK_URL_XCOM_KEY,
                getattr(ti_key, "task_id", ti_key),
                exc_info=True,
            )
            return ""
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
        return ""

"""The Celery application.

Without ``REDIS_URL`` the settings make every task run in-process (``task_always_eager``),
so ``make run`` needs no broker; with it, tasks go through Redis to a worker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sqi.settings")

app = Celery("sqi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

"""The Django project package and (from issue 5 on) the Service Quality Index."""

from .celery import app as celery_app

__all__ = ["celery_app"]

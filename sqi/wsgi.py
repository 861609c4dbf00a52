"""WSGI entry point (gunicorn sqi.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sqi.settings")

application = get_wsgi_application()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SqiConfig(AppConfig):
    name = "sqi"
    verbose_name = _("Service Quality Index")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy checks)

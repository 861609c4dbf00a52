from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SqiConfig(AppConfig):
    name = "sqi"
    verbose_name = _("Service Quality Index")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from insurers import roles

        from . import checks  # noqa: F401  (registers the deploy checks)
        from .page_cache import connect_invalidation

        crud = ("view", "add", "change", "delete")
        managed = ("period", "operatingstatistic", "rawclaim", "methodology", "indexrun")
        roles.grant(
            roles.INDEX_ADMIN,
            [f"sqi.{a}_{m}" for m in managed for a in crud]
            + [
                "sqi.view_statisticsimport",
                "sqi.view_complaintstatistic",
                "sqi.view_indexresult",
                "sqi.publish_indexrun",
            ],
        )
        post_migrate.connect(_ensure_default_methodology, sender=self)
        post_migrate.connect(_ensure_schedules, sender=self)
        connect_invalidation()
        # Officers and staff read statistics of their insurers on the dashboard (issue 6);
        # the rows themselves are scoped by the selectors.
        for role in (roles.OFFICER, roles.STAFF):
            roles.grant(role, ["sqi.view_operatingstatistic", "sqi.view_complaintstatistic"])


def _ensure_default_methodology(**kwargs) -> None:
    from .runs import methodology_ensure_default

    methodology_ensure_default()


#: The data migrations that schedule periodic tasks with django-celery-beat. Their
#: ``schedule`` functions are idempotent (update_or_create), so they are also run after every
#: migrate: a schedule deleted by hand, or by a test database flush, comes back.
SCHEDULE_MIGRATIONS = (
    "complaints.migrations.0002_deadline_schedule",
    "complaints.migrations.0005_dashboard_summaries",
    "sqi.migrations.0002_default_methodology_and_nightly_rollups",
    "sqi.migrations.0004_stale_run_sweep_schedule",
    "sqi.migrations.0006_monthly_reports_schedule",
    "outbox.migrations.0002_relay_schedule",
)


def _ensure_schedules(**kwargs) -> None:
    from importlib import import_module

    from django.apps import apps

    for name in SCHEDULE_MIGRATIONS:
        try:
            module = import_module(name)
        except ModuleNotFoundError:
            continue  # an app that is not installed
        module.schedule(apps, None)

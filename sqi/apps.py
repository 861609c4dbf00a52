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
        # Officers and staff read statistics of their insurers on the dashboard (issue 6);
        # the rows themselves are scoped by the selectors.
        for role in (roles.OFFICER, roles.STAFF):
            roles.grant(role, ["sqi.view_operatingstatistic", "sqi.view_complaintstatistic"])


def _ensure_default_methodology(**kwargs) -> None:
    from .runs import methodology_ensure_default

    methodology_ensure_default()

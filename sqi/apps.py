from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SqiConfig(AppConfig):
    name = "sqi"
    verbose_name = _("Service Quality Index")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
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
            ],
        )
        # Officers and staff read statistics of their insurers on the dashboard (issue 6);
        # the rows themselves are scoped by the selectors.
        for role in (roles.OFFICER, roles.STAFF):
            roles.grant(role, ["sqi.view_operatingstatistic", "sqi.view_complaintstatistic"])

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Mediation and showcase cases")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from insurers import roles

        roles.grant(
            roles.MEDIATOR,
            [
                "cases.view_mediationcase",
                "cases.mediate_mediationcase",
                "cases.add_mediationcase",
                "cases.view_mediationsession",
            ],
        )
        roles.grant(
            roles.STAFF,
            [
                "cases.view_mediationcase",
                "cases.add_mediationcase",
                "cases.change_mediationcase",
                "cases.view_mediationsession",
                "cases.view_showcasecase",
                "cases.add_showcasecase",
                "cases.change_showcasecase",
            ],
        )
        roles.grant(roles.OFFICER, ["cases.view_mediationcase", "cases.view_mediationsession"])
        roles.grant(
            roles.INDEX_ADMIN,
            [
                f"cases.{action}_{model}"
                for model in ("showcasecase", "awardprogramme", "awardcategory", "tag")
                for action in ("view", "add", "change", "delete")
            ]
            + ["cases.view_mediationorganization", "cases.add_mediationorganization",
               "cases.change_mediationorganization"],
        )  # fmt: skip

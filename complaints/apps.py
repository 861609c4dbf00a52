from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from insurers import roles

        handle = [
            "complaints.view_complaint",
            "complaints.add_complaint",
            "complaints.change_complaint",
            "complaints.reveal_personal_data",
            "complaints.export_complaints",
            "complaints.view_notification",
        ]
        roles.grant(roles.STAFF, handle)
        roles.grant(
            roles.OFFICER,
            [
                "complaints.view_complaint",
                "complaints.reveal_personal_data",
                "complaints.approve_extension",
                "complaints.export_complaints",
                "complaints.view_notification",
            ],
        )
        # Index administrators see complaints only in aggregate (DESIGN.md §1).

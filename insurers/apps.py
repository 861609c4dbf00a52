from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class InsurersConfig(AppConfig):
    name = "insurers"
    verbose_name = _("Insurers and organisation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .roles import sync_role_groups

        # Permissions exist only after migrate has run for every app, so the role groups
        # are brought in step then (a data migration would run too early).
        post_migrate.connect(sync_role_groups, dispatch_uid="insurers.sync_role_groups")

"""System checks of our own.

``manage.py check --deploy`` must fail on a server still running with the development
secrets that ``sqi/settings.py`` falls back to outside production: anyone with this
repository could forge sessions with that SECRET_KEY and read complainants' ID numbers
with that FIELD_ENCRYPTION_KEY. Django's own ``security.W009`` only looks at the key's
length and variety, which the development key passes.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register

E001 = "sqi.E001"
E002 = "sqi.E002"


@register(Tags.security, deploy=True)
def check_no_development_secrets(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    if settings.DEV_SECRET_KEY in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        errors.append(
            Error(
                "SECRET_KEY (or SECRET_KEY_FALLBACKS) is the development key from settings.",
                hint="Set SECRET_KEY in the environment to a long random value.",
                id=E001,
            )
        )
    if settings.FIELD_ENCRYPTION_KEY == settings.DEV_FIELD_ENCRYPTION_KEY:
        errors.append(
            Error(
                "FIELD_ENCRYPTION_KEY is the development key from settings.",
                hint=(
                    "Set FIELD_ENCRYPTION_KEY in the environment, e.g. from "
                    "cryptography.fernet.Fernet.generate_key()."
                ),
                id=E002,
            )
        )
    return errors

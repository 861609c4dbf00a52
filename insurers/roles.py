"""Roles are Django groups; this module names them and says what each may do in the models.

Model-level permissions come from the groups (``sync_role_groups``, run after every
migrate); which *records* a role reaches is the scope, decided in
``selectors.visible_units`` and the object rules in ``rules.py``.
"""

from django.contrib.auth.models import Group, Permission

STAFF = "consumer_protection_staff"
OFFICER = "service_officer"
MEDIATOR = "mediator"
INDEX_ADMIN = "index_admin"
ALL_ROLES = (STAFF, OFFICER, MEDIATOR, INDEX_ADMIN)

_CRUD = ("view", "add", "change", "delete")
_INSURER_MODELS = ("insurer", "orgunit", "serviceofficer", "receptionday", "unitmembership")

# "app_label.codename" lists; later apps add theirs here.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    INDEX_ADMIN: [f"insurers.{a}_{m}" for m in _INSURER_MODELS for a in _CRUD]
    + ["django_celery_beat.view_periodictask"],
    OFFICER: [
        "insurers.view_insurer",
        "insurers.view_orgunit",
        "insurers.view_serviceofficer",
        "insurers.view_receptionday",
        "insurers.add_receptionday",
        "insurers.change_receptionday",
    ],
    STAFF: [
        "insurers.view_insurer",
        "insurers.view_orgunit",
        "insurers.view_serviceofficer",
        "insurers.view_receptionday",
    ],
    MEDIATOR: [],
}


def grant(role: str, perms: list[str]) -> None:
    """Let a higher app add its model permissions to a role (called from its AppConfig)."""
    for perm in perms:
        if perm not in ROLE_PERMISSIONS[role]:
            ROLE_PERMISSIONS[role].append(perm)


def role_names(user) -> frozenset[str]:
    """The user's role group names, looked up once per user object."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_sqi_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        user._sqi_roles = cached
    return cached


def has_role(user, role: str) -> bool:
    return role in role_names(user)


def sees_every_unit(user) -> bool:
    """Superusers and index administrators work across the whole market."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or has_role(user, INDEX_ADMIN))
    )


def sync_role_groups(**kwargs) -> None:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    by_name = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
    }
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([by_name[p] for p in perms if p in by_name])

"""Reads for the insurers app, and the one answer to "which org units may this user see".

Every queryset that holds scoped data filters through ``visible_units``: a user sees the
units they belong to (staff memberships and active officer appointments) and everything
below them; superusers and index administrators see the whole tree.
"""

from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Length, Substr

from sqi.compiled import CompiledQuery

from .models import Insurer, OrgUnit, ReceptionDay, ServiceOfficer, UnitMembership
from .roles import sees_every_unit


def user_root_paths(user) -> tuple[str, ...]:
    """Tree paths of the units the user is placed in, without any that lie inside another.

    Cached on the user object, which lives for one request.
    """
    cached = getattr(user, "_sqi_root_paths", None)
    if cached is not None:
        return cached
    paths: set[str] = set()
    if user.is_authenticated and user.is_active:
        memberships = (
            UnitMembership.objects.filter(user=user).order_by().values_list("org_unit__path")
        )
        posts = (
            ServiceOfficer.objects.filter(user=user, ended__isnull=True)
            .order_by()
            .values_list("org_unit__path")
        )
        paths.update(path for (path,) in memberships.union(posts))  # one query
    user._sqi_root_paths = _roots(paths)
    return user._sqi_root_paths


def _roots(paths: set[str]) -> tuple[str, ...]:
    return tuple(sorted(p for p in paths if not any(p != q and p.startswith(q) for q in paths)))


def _q(model, field: str | None = None) -> str:
    """A model's quoted table, or ``table.column`` of one of its fields."""
    quote = connection.ops.quote_name
    if field is None:
        return quote(model._meta.db_table)
    return f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(field).column)}"


def _joined(expression: str) -> str:
    """The values of ``expression`` over a subquery's rows, comma-separated (none: NULL)."""
    function = "STRING_AGG" if connection.vendor == "postgresql" else "GROUP_CONCAT"
    return f"{function}({expression}, ',')"


def _subquery(sql: str, params=()):
    from django.db.models.expressions import RawSQL

    return RawSQL(sql, list(params))  # noqa: S611 - table and column names from _meta


def _token_query():
    """The tokens (filter by key), their users and, per user, the comma-joined permissions
    (own and through groups), role names and unit paths (memberships, active posts)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from rest_framework.authtoken.models import Token

    from .roles import ALL_ROLES

    User = get_user_model()
    user_perms, user_groups = User.user_permissions.through, User.groups.through
    group_perms = Group.permissions.through
    user_id = _q(Token, "user")  # the outer query's: Django aliases its base table by name
    perm = f"{_q(ContentType, 'app_label')} || '.' || {_q(Permission, 'codename')}"

    def perms_via(through) -> str:
        return (
            f"JOIN {_q(Permission)} ON {_q(Permission, 'id')} = {_q(through, 'permission')} "
            f"JOIN {_q(ContentType)} ON {_q(ContentType, 'id')} = "
            f"{_q(Permission, 'content_type')}"
        )

    def paths_of(model, condition: str = "") -> str:
        return (
            f"SELECT {_joined(_q(OrgUnit, 'path'))} FROM {_q(model)} "  # noqa: S608 - names from _meta
            f"JOIN {_q(OrgUnit)} ON {_q(OrgUnit, 'id')} = {_q(model, 'org_unit')} "
            f"WHERE {_q(model, 'user')} = {user_id}{condition}"
        )

    return Token.objects.select_related("user").annotate(
        own_perms=_subquery(
            f"SELECT {_joined(perm)} FROM {_q(user_perms)} {perms_via(user_perms)} "  # noqa: S608 - names from _meta
            f"WHERE {_q(user_perms, 'user')} = {user_id}",
        ),
        group_perms=_subquery(
            f"SELECT {_joined(perm)} FROM {_q(user_groups)} JOIN {_q(group_perms)} "  # noqa: S608 - names from _meta
            f"ON {_q(group_perms, 'group')} = {_q(user_groups, 'group')} "
            f"{perms_via(group_perms)} WHERE {_q(user_groups, 'user')} = {user_id}",
        ),
        role_list=_subquery(
            f"SELECT {_joined(_q(Group, 'name'))} FROM {_q(user_groups)} "  # noqa: S608 - names from _meta
            f"JOIN {_q(Group)} ON {_q(Group, 'id')} = {_q(user_groups, 'group')} "
            f"WHERE {_q(user_groups, 'user')} = {user_id} AND {_q(Group, 'name')} "
            f"IN ({', '.join(['%s'] * len(ALL_ROLES))})",
            ALL_ROLES,
        ),
        member_paths=_subquery(paths_of(UnitMembership)),
        officer_paths=_subquery(
            paths_of(ServiceOfficer, f" AND {_q(ServiceOfficer, 'ended')} IS NULL")
        ),
    )


#: Stands for the token's key in the compiled statement of :func:`token_with_user`.
_KEY_SLOT = "sqi-token-key-slot"
#: That statement, compiled once per database (building and compiling it is most of the
#: cost of an authenticated API request otherwise).
_token_statement = CompiledQuery(lambda key: _token_query().filter(key=key), _KEY_SLOT)


def token_with_user(key: str):
    """API token ``key`` (None if there is no such token) and its user, with what an API
    request asks of the user already in hand: their permissions, roles and units.

    One statement where the plain way costs five (the token and user, the user's and their
    groups' permissions, the roles, the units), read fresh every time: a withdrawn
    permission or unit applies to the very next request. The answers go where Django's
    ``ModelBackend``, :func:`insurers.roles.role_names` and :func:`user_root_paths` keep them
    per user object (superusers excepted: their permissions are all permissions, which this
    does not read). Codenames, app labels, role names and tree paths never hold a comma.
    The statement is :func:`_token_query`'s, compiled once (:class:`sqi.compiled.CompiledQuery`);
    the row goes through the same converters as the ORM's (time zones on SQLite).
    """
    token, extra = _token_statement.first(key)
    if token is None:
        return None
    user = token.user

    def split(name: str) -> set[str]:
        return set(extra[name].split(",")) if extra[name] else set()

    if not user.is_superuser:
        user._user_perm_cache = split("own_perms")
        user._group_perm_cache = split("group_perms")
        user._perm_cache = user._user_perm_cache | user._group_perm_cache
    user._sqi_roles = frozenset(split("role_list"))
    user._sqi_root_paths = _roots(split("member_paths") | split("officer_paths"))
    return token


_unit_statement = CompiledQuery(
    lambda pk: OrgUnit.objects.select_related("insurer").filter(pk=pk), -7_301_953
)


def unit_with_insurer(pk: int) -> OrgUnit | None:
    """Org unit ``pk`` with its insurer (None for a group) in one statement compiled once:
    intake names a unit on every request. None if there is no such unit."""
    unit, _annotations = _unit_statement.first(pk)
    return unit


def visible_units(*, user) -> QuerySet[OrgUnit]:
    """The org units ``user`` may see: their own units and all their descendants."""
    if sees_every_unit(user):
        return OrgUnit.objects.all()
    roots = user_root_paths(user)
    if not roots:
        return OrgUnit.objects.none()
    condition = Q()
    for path in roots:
        condition |= Q(path__startswith=path)
    return OrgUnit.objects.filter(condition)


def unit_is_visible(*, user, unit: OrgUnit) -> bool:
    if sees_every_unit(user):
        return True
    return any(unit.path.startswith(root) for root in user_root_paths(user))


def user_top_units(*, user) -> QuerySet[OrgUnit]:
    """The topmost units a user sees: the tree's roots, or the user's own units."""
    if sees_every_unit(user):
        return OrgUnit.objects.filter(depth=1)
    return OrgUnit.objects.filter(path__in=user_root_paths(user))


def with_parent_id(queryset: QuerySet[OrgUnit]) -> QuerySet[OrgUnit]:
    """Annotate ``parent_id`` from the materialised path, in SQL (no query per row)."""
    steplen = OrgUnit.steplen
    parent = OrgUnit.objects.filter(
        path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - steplen)
    ).values("pk")[:1]
    return queryset.annotate(parent_id=Subquery(parent))


def org_unit_list(*, user, within: OrgUnit | None = None, filters: dict | None = None):
    """Visible units in tree order, optionally only ``within`` a unit's subtree (inclusive)."""
    qs = visible_units(user=user).select_related("insurer")
    if within is not None:
        qs = qs.filter(path__startswith=within.path)
    filters = filters or {}
    if filters.get("level"):
        qs = qs.filter(level=filters["level"])
    if filters.get("insurer"):
        qs = qs.filter(insurer=filters["insurer"])
    return with_parent_id(qs).order_by("path")


def insurer_list(*, user, filters: dict | None = None) -> QuerySet[Insurer]:
    """Insurers that own at least one unit the user sees (all of them for the market-wide)."""
    qs = Insurer.objects.select_related("group")
    if not sees_every_unit(user):
        qs = qs.filter(pk__in=visible_units(user=user).values("insurer_id"))
    filters = filters or {}
    if filters.get("licence_type"):
        qs = qs.filter(licence_type=filters["licence_type"])
    if filters.get("active") is not None:
        qs = qs.filter(active=filters["active"])
    return qs.order_by("licence_type", "short_name", "pk")


def service_officer_list(*, user, active: bool | None = None) -> QuerySet[ServiceOfficer]:
    qs = ServiceOfficer.objects.filter(org_unit__in=visible_units(user=user)).select_related(
        "user", "org_unit"
    )
    if active is not None:
        qs = qs.filter(ended__isnull=active)
    return qs.order_by("org_unit__path", "-appointed", "pk")


def reception_day_list(*, user) -> QuerySet[ReceptionDay]:
    return (
        ReceptionDay.objects.filter(officer__org_unit__in=visible_units(user=user))
        .select_related("officer__user", "officer__org_unit")
        .order_by("-date", "pk")
    )


def active_officer_of(*, user) -> ServiceOfficer | None:
    """The user's own active appointment, if they are a service officer."""
    return (
        ServiceOfficer.objects.filter(user=user, ended__isnull=True)
        .select_related("org_unit")
        .order_by("org_unit__path")
        .first()
    )

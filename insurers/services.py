"""Writes for the insurers app.

Each function validates everything it writes (field errors named by field, nothing saved on
error) and runs in one transaction. Callers check the actor's permission first.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .models import (
    Insurer,
    Level,
    OfficerTitle,
    OrgUnit,
    ReceptionDay,
    ServiceOfficer,
    UnitMembership,
    placement_errors,
)

INSURER_FIELDS = (
    "name_zh",
    "name_en",
    "short_name",
    "licence_type",
    "credit_code",
    "group",
    "established",
    "is_agricultural",
    "active",
)


def _set_fields(instance, data: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValueError(f"unexpected fields: {sorted(unknown)}")
    for field, value in data.items():
        setattr(instance, field, value)


@transaction.atomic
def insurer_create(**fields) -> Insurer:
    insurer = Insurer()
    _set_fields(insurer, fields, INSURER_FIELDS)
    insurer.full_clean()
    insurer.save()
    return insurer


@transaction.atomic
def insurer_update(*, insurer: Insurer, data: dict) -> Insurer:
    _set_fields(insurer, data, INSURER_FIELDS)
    insurer.full_clean()
    insurer.save()
    return insurer


def _validate_unit(unit: OrgUnit, parent: OrgUnit | None) -> None:
    errors = placement_errors(level=unit.level, insurer=unit.insurer, parent=parent)
    try:
        unit.full_clean(exclude=["path", "depth", "numchild"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def org_unit_create(
    *,
    name: str,
    level: str,
    insurer: Insurer | None = None,
    parent: OrgUnit | None = None,
    region: str = "",
) -> OrgUnit:
    """Add a unit to the tree under ``parent`` (or as a root), enforcing the level rules."""
    unit = OrgUnit(name=name, level=level, insurer=insurer, region=region)
    _validate_unit(unit, parent)
    try:
        with transaction.atomic():
            if parent is None:
                return OrgUnit.objects.add_root(instance=unit)
            parent = OrgUnit.objects.select_for_update().get(pk=parent.pk)
            return OrgUnit.objects.add_child(parent, instance=unit)
    except IntegrityError as exc:
        # A concurrent writer won a race the validation above could not see.
        raise ValidationError({"insurer": _("This insurer already has a head office.")}) from exc


@transaction.atomic
def org_unit_update(*, unit: OrgUnit, data: dict) -> OrgUnit:
    """Rename or re-describe a unit; its level and insurer must still fit parent and children."""
    _set_fields(unit, data, ("name", "level", "insurer", "region"))
    parent = OrgUnit.objects.get_parent(unit)
    _validate_unit(unit, parent)
    for child in OrgUnit.objects.get_children(unit).select_related("insurer"):
        if placement_errors(level=child.level, insurer=child.insurer, parent=unit):
            raise ValidationError(
                {"level": _("The units below this one would no longer fit under it.")}
            )
    unit.save()
    return unit


@transaction.atomic
def org_unit_move(*, unit: OrgUnit, parent: OrgUnit | None) -> OrgUnit:
    """Move a unit (and its subtree) under ``parent``, or to the top when ``parent`` is None."""
    if parent is not None and (parent.pk == unit.pk or parent.path.startswith(unit.path)):
        raise ValidationError({"parent": _("A unit cannot move under itself.")})
    errors = placement_errors(level=unit.level, insurer=unit.insurer, parent=parent)
    if errors:
        raise ValidationError(errors)
    if parent is None:
        if unit.depth != 1:
            OrgUnit.objects.move(unit, OrgUnit.objects.get_first_root_node(), pos="sorted-sibling")
    else:
        OrgUnit.objects.move(unit, parent, pos="sorted-child")
    unit.refresh_from_db()
    return unit


def default_title(unit: OrgUnit) -> str:
    return OfficerTitle.CHIEF if unit.level == Level.GROUP else OfficerTitle.OFFICER


@transaction.atomic
def service_officer_appoint(
    *,
    user,
    org_unit: OrgUnit,
    appointed: datetime.date,
    title: str | None = None,
) -> ServiceOfficer:
    """Appoint ``user`` officer of ``org_unit``: one active officer per unit."""
    officer = ServiceOfficer(
        user=user, org_unit=org_unit, appointed=appointed, title=title or default_title(org_unit)
    )
    officer.full_clean()
    try:
        with transaction.atomic():
            officer.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"org_unit": _("This org unit already has an active service officer.")}
        ) from exc
    return officer


@transaction.atomic
def service_officer_end(*, officer: ServiceOfficer, ended: datetime.date) -> ServiceOfficer:
    officer.ended = ended
    officer.full_clean()
    officer.save()
    return officer


@transaction.atomic
def unit_membership_add(*, user, org_unit: OrgUnit) -> UnitMembership:
    membership, _created = UnitMembership.objects.get_or_create(user=user, org_unit=org_unit)
    return membership


RECEPTION_FIELDS = (
    "date",
    "place",
    "consumers_met",
    "issues_raised",
    "follow_ups",
    "follow_ups_open",
)


@transaction.atomic
def reception_day_log(*, officer: ServiceOfficer, **fields) -> ReceptionDay:
    """Record a reception day (接待日) held by ``officer``."""
    day = ReceptionDay(officer=officer)
    _set_fields(day, fields, RECEPTION_FIELDS)
    day.full_clean()
    day.save()
    return day


@transaction.atomic
def reception_day_update(*, day: ReceptionDay, data: dict) -> ReceptionDay:
    _set_fields(day, data, RECEPTION_FIELDS)
    day.full_clean()
    day.save()
    return day

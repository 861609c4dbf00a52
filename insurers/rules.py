"""Object-level permissions (django-rules) for the insurers app.

A permission on a record holds when the user's role grants it on the model (the groups in
``roles.py``) *and* the record lies in the user's scope. Loaded by
``rules.apps.AutodiscoverRulesConfig``.
"""

import rules
from django.contrib.auth.backends import ModelBackend

from .models import Insurer, OrgUnit, ReceptionDay, ServiceOfficer, UnitMembership
from .roles import sees_every_unit
from .selectors import insurer_list, unit_is_visible

_model_backend = ModelBackend()


def role_grants(perm: str):
    """A predicate: the user's groups grant ``perm`` on the model."""

    @rules.predicate(name=f"role_grants:{perm}")
    def predicate(user) -> bool:
        return _model_backend.has_perm(user, perm)

    return predicate


def unit_of(obj) -> OrgUnit | None:
    if isinstance(obj, OrgUnit):
        return obj
    if isinstance(obj, ServiceOfficer | UnitMembership):
        return obj.org_unit
    if isinstance(obj, ReceptionDay):
        return obj.officer.org_unit
    return None


@rules.predicate
def in_scope(user, obj) -> bool:
    """No record given (a model-level question) or a record within the user's subtree."""
    if obj is None or sees_every_unit(user):
        return True
    if isinstance(obj, Insurer):
        return insurer_list(user=user).filter(pk=obj.pk).exists()
    unit = unit_of(obj)
    return unit is not None and unit_is_visible(user=user, unit=unit)


@rules.predicate
def is_market_wide(user) -> bool:
    return sees_every_unit(user)


@rules.predicate
def logs_own_reception(user, obj) -> bool:
    """Officers write their own reception days only."""
    return obj is None or obj.officer.user_id == user.pk


for model in ("insurer", "orgunit", "serviceofficer", "unitmembership"):
    for action in ("view", "add", "change", "delete"):
        perm = f"insurers.{action}_{model}"
        rules.add_perm(perm, role_grants(perm) & in_scope)

rules.add_perm("insurers.view_receptionday", role_grants("insurers.view_receptionday") & in_scope)
for action in ("add", "change", "delete"):
    perm = f"insurers.{action}_receptionday"
    rules.add_perm(perm, role_grants(perm) & in_scope & (is_market_wide | logs_own_reception))

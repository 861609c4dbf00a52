"""Object permissions for mediation cases, and the complaint rules widened for mediators.

A mediator sees and works the cases of their own organisation, and sees the complaint
behind each of those cases; insurer staff see the cases of their subtree.
"""

import rules
from rules.permissions import permissions as registered

from insurers.rules import role_grants
from insurers.selectors import unit_is_visible

from .services import mediator_organization_id


@rules.predicate
def case_of_my_organization(user, case) -> bool:
    if case is None:
        return True
    org = mediator_organization_id(user)
    return org is not None and case.organization_id == org


@rules.predicate
def case_in_unit_scope(user, case) -> bool:
    if case is None:
        return True
    return unit_is_visible(user=user, unit=case.org_unit)


@rules.predicate
def complaint_before_my_organization(user, complaint) -> bool:
    if complaint is None:
        return False
    org = mediator_organization_id(user)
    if org is None:
        return False
    case = getattr(complaint, "mediation_case", None)
    return case is not None and case.organization_id == org


def _perm(codename: str) -> str:
    return f"cases.{codename}"


rules.add_perm(
    _perm("view_mediationcase"),
    role_grants(_perm("view_mediationcase")) & (case_of_my_organization | case_in_unit_scope),
)
rules.add_perm(
    _perm("mediate_mediationcase"),
    role_grants(_perm("mediate_mediationcase")) & case_of_my_organization,
)
for codename in ("add_mediationcase", "change_mediationcase", "delete_mediationcase"):
    rules.add_perm(_perm(codename), role_grants(_perm(codename)) & case_in_unit_scope)

# Mediators see the complaint behind their organisation's cases, and may open its personal
# data (the reveal is audited on the complaint's timeline). Being that organisation's mediator
# is the grant: their role has no model-wide complaint permission, so complaint lists, pages
# and the admin stay closed to them.
for perm in ("complaints.view_complaint", "complaints.reveal_personal_data"):
    rules.set_perm(perm, registered[perm] | complaint_before_my_organization)

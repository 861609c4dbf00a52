"""Object permissions on complaints: the role grants the action, the scope grants the record."""

import rules

from insurers.rules import role_grants
from insurers.selectors import unit_is_visible

CODENAMES = (
    "view_complaint",
    "add_complaint",
    "change_complaint",
    "delete_complaint",
    "reveal_personal_data",
    "approve_extension",
    "export_complaints",
)


@rules.predicate
def complaint_in_scope(user, complaint) -> bool:
    if complaint is None:
        return True
    return unit_is_visible(user=user, unit=complaint.org_unit)


for codename in CODENAMES:
    perm = f"complaints.{codename}"
    rules.add_perm(perm, role_grants(perm) & complaint_in_scope)

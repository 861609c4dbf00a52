"""The organisation the write benchmarks work in (bench/intake.py, bench/import_complaints.py)."""

import datetime


def insurer_with_staff(*, name_zh: str, short_name: str, code_body: str, cities, username: str):
    """One property insurer (a head office and a branch per city) and a consumer-protection
    staff member placed at the head office. Returns (insurer, branches, user)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from insurers import roles, services
    from insurers.credit_code import check_character
    from insurers.models import Level, LicenceType

    insurer = services.insurer_create(
        name_zh=name_zh,
        short_name=short_name,
        licence_type=LicenceType.PROPERTY,
        credit_code=code_body + check_character(code_body),
        established=datetime.date(2010, 1, 1),
    )
    head = services.org_unit_create(
        name=f"{short_name}总公司", level=Level.HEAD_OFFICE, insurer=insurer
    )
    branches = [
        services.org_unit_create(
            name=f"{city}分公司", level=Level.BRANCH, insurer=insurer, parent=head, region="310000"
        )
        for city in cities
    ]
    roles.sync_role_groups()
    user = get_user_model().objects.create_user(username=username, password=None)
    user.groups.add(Group.objects.get(name=roles.STAFF))
    services.unit_membership_add(user=user, org_unit=head)
    return insurer, branches, user

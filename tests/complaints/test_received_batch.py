"""Intake's batched work (complaints.services.complaints_received_process): summaries and
notifications for many complaints at once, each exactly once."""

import pytest
from django.core import mail

from complaints import services
from complaints.models import Complaint, Notification
from insurers.roles import STAFF
from tests.complaints.conftest import intake
from tests.factories import Tree, user_in


@pytest.mark.django_db
def test_many_complaints_one_notification_each_per_colleague_and_one_email(
    django_capture_on_commit_callbacks,
):
    tree = Tree()
    author = user_in(tree.head_a, STAFF)
    neighbour = user_in(tree.branch_a1, STAFF)
    colleague = user_in(tree.branch_a1, STAFF)
    colleague.email = "colleague@example.com"
    colleague.save()
    other_unit = user_in(tree.branch_a2, STAFF)
    complaints = [
        services.complaint_create(by=author, insurer=tree.insurer_a, org_unit=unit, **intake())
        for unit in (tree.branch_a1, tree.branch_a1, tree.branch_a2)
    ]
    # logged by a colleague at the unit: the others are told, not the one who logged it
    complaints.append(
        services.complaint_create(
            by=colleague, insurer=tree.insurer_a, org_unit=tree.branch_a1, **intake()
        )
    )
    ids = [c.pk for c in complaints]
    with django_capture_on_commit_callbacks(execute=True):
        first = services.complaints_received_process(complaint_ids=ids)
    assert first == {"summarised": 4, "notified": 6}
    pairs = set(Notification.objects.values_list("user", "complaint"))
    assert pairs == {
        (colleague.pk, ids[0]),
        (neighbour.pk, ids[0]),
        (colleague.pk, ids[1]),
        (neighbour.pk, ids[1]),
        (other_unit.pk, ids[2]),
        (neighbour.pk, ids[3]),
    }
    assert sorted(m.to for m in mail.outbox) == [["colleague@example.com"]] * 2
    subjects = Notification.objects.filter(complaint=ids[0]).values_list("subject", flat=True)
    assert complaints[0].reference in subjects[0]

    with django_capture_on_commit_callbacks(execute=True):
        again = services.complaints_received_process(complaint_ids=ids)
    assert again == {"summarised": 0, "notified": 0}
    assert Notification.objects.count() == 6 and len(mail.outbox) == 2
    assert not Complaint.objects.filter(summary_pending=True).exists()


@pytest.mark.django_db
def test_the_earlier_per_complaint_task_still_notifies_once():
    """Outbox rows written before the batched task name notify_complaint_received."""
    from complaints import tasks

    tree = Tree()
    author = user_in(tree.branch_a1, STAFF)
    colleague = user_in(tree.branch_a1, STAFF)
    complaint = services.complaint_create(
        by=author, insurer=tree.insurer_a, org_unit=tree.branch_a1, **intake()
    )
    assert tasks.notify_complaint_received.apply(args=[complaint.pk]).get() == 1
    assert tasks.notify_complaint_received.apply(args=[complaint.pk]).get() == 0
    assert list(Notification.objects.values_list("user", flat=True)) == [colleague.pk]
    assert tasks.notify_complaint_received.apply(args=[10**9]).get() == 0

"""sqi.history: the audited models reach their history manager without building a class."""

import pytest

from cases.models import ShowcaseCase
from complaints.models import Complaint
from insurers.models import Insurer
from sqi.history import _HistoryDescriptor
from tests.factories import Tree


@pytest.mark.parametrize("model", [Complaint, Insurer, ShowcaseCase])
def test_every_audited_model_uses_the_cached_descriptor(model):
    assert type(model.__dict__["history"]) is _HistoryDescriptor
    assert type(model.history) is type(model.history)  # one class, built once
    assert model.history is not model.history  # a manager per access, as upstream


@pytest.mark.django_db
def test_the_manager_is_bound_to_its_instance():
    tree = Tree()
    a, b = tree.insurer_a, tree.insurer_b
    a.short_name = "改名"
    a.save()
    assert a.history.count() == 2 and b.history.count() == 1
    assert a.history.instance is a and b.history.instance is b
    assert a.history.first().short_name == "改名"
    assert Insurer.history.filter(id=a.pk).count() == 2

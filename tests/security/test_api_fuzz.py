"""schemathesis against /api/schema/: every operation, anonymous and as each role, a few
valid and invalid examples each (harness in ``fuzzing.py``; the long run is bench/fuzz.py).

No 5xx, ever; every response has a documented status code and content type and a body that
matches its schema. Writes are fuzzed too, each example in a savepoint rolled back after it.
"""

import pytest

from .fuzzing import fuzz

pytestmark = pytest.mark.django_db

EXAMPLES = 5


def test_every_operation_survives_fuzzing_as_every_role():
    report = fuzz(examples=EXAMPLES)
    assert report.operations >= 50, report.summary()
    assert not report.failures, "\n\n".join([report.summary(), *report.failures])

"""The API fuzz harness shared by tests/security/test_api_fuzz.py (a few examples per
operation, part of ``make test``) and bench/fuzz.py (many examples, by hand).

schemathesis reads the schema the project serves at ``/api/schema/`` and generates requests
for every operation, sent in-process to the WSGI application with an API token (session
auth would turn every write into a CSRF 403 and test nothing): valid requests anonymous and
as each role, deliberately invalid ones as the roles that get past the permission checks.
Half of the requests get the path of a real record of the access-matrix world, so that
bodies reach the serializers and services rather than a 404. Every example runs in a
savepoint that is rolled back: each one sees the same data, and a run is reproducible
(``derandomize``).

Each response must pass schemathesis's checks: not a 5xx, a documented status code and
content type, and a body that matches the documented schema.
"""

import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sqi.wsgi import application

from .test_access_matrix import World, _api_name

# Who the requests are sent as: anonymous, and one user of each role of the matrix world.
ROLES = {
    "anonymous": None,
    "staff": "staff_a1",
    "officer": "officer_a1",
    "mediator": "mediator_sh",
    "index_admin": "index_admin",
    "superuser": "superuser",
    "no_role": "no_role_a1",
}

# Invalid requests are sent as the roles whose requests get past the permission checks to
# the validation (everyone else gets the 403 the valid requests already showed).
NEGATIVE_ROLES = ("staff", "index_admin", "superuser")

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Report:
    operations: int = 0
    examples: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"fuzz operations={self.operations} examples={self.examples} "
            f"failures={len(self.failures)} server_errors={len(self.server_errors)}"
        )


@contextmanager
def in_process():
    """What Django's test client does around a request: keep the test's connection (and its
    open transaction) instead of closing it at the start and end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def load_schema():
    """The schema as served at /api/schema/, requested through the WSGI application."""
    with in_process():
        return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


def tokens(world: World) -> dict[str, dict[str, str]]:
    headers = {}
    for role, key in ROLES.items():
        if key is None:
            headers[role] = {}
        else:
            token, _ = Token.objects.get_or_create(user=world.users[key])
            headers[role] = {"Authorization": f"Token {token.key}"}
    return headers


def fuzz(
    *,
    examples: int,
    roles=tuple(ROLES),
    negative_roles=NEGATIVE_ROLES,
    only: str | None = None,
    shrink: bool = False,
    progress=None,
) -> Report:
    """Fuzz every operation as each of ``roles``; needs a database with migrations applied
    and an open transaction around it (a pytest-django test, or bench/fuzz.py)."""
    world = World()
    auth = tokens(world)
    schema = load_schema()
    report = Report()
    errors: list[str] = []

    def remember_exception(sender, request=None, **kwargs):
        errors.append(traceback.format_exc())

    got_request_exception.connect(remember_exception)
    try:
        with in_process():
            for result in schema.get_all_operations():
                operation = result.ok()
                label = f"{operation.method.upper()} {operation.path}"
                if only and only not in label:
                    continue
                report.operations += 1
                values = world.values(_api_name(operation.path))
                for mode, who in (
                    (GenerationMode.POSITIVE, roles),
                    (GenerationMode.NEGATIVE, negative_roles),
                ):
                    strategy = operation.as_strategy(generation_mode=mode)
                    for role in who:
                        _fuzz_one(
                            label=f"{label} [{mode.value}, {role}]",
                            strategy=strategy,
                            headers=auth[role],
                            values=values,
                            examples=examples,
                            shrink=shrink,
                            report=report,
                            errors=errors,
                        )
                if progress:
                    progress(label, report)
    finally:
        got_request_exception.disconnect(remember_exception)
    return report


def _short(value, limit=300) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def describe(response, failures) -> str:
    """One failed example: the request, the answer, and what was wrong with it."""
    request = response.request
    body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else ""
    kind = response.headers.get("content-type", [""])[0]
    text = response.content.decode("utf-8", "replace") if "json" in kind or "text" in kind else ""
    lines = [
        f"{request.method} {_short(request.url)}" + (f" body={_short(body)}" if body else ""),
        f"→ {response.status_code} {kind} {_short(text)}",
    ]
    lines += [f"  {f.title}: {_short(f.message, 500)}" for f in failures]
    return "\n".join(lines)


def _fuzz_one(*, label, strategy, headers, values, examples, shrink, report, errors):
    server_errors = []

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        # Shrinking finds the smallest failing example, at many times the cost of the run.
        phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if shrink else [])],
        print_blob=False,
    )
    @given(case=strategy, real_record=st.booleans())
    def run(case, real_record):
        if real_record and case.path_parameters:
            case.path_parameters = {
                name: values.get(name) or value for name, value in case.path_parameters.items()
            }
        errors.clear()
        with transaction.atomic():
            response = case.call(headers=headers)
            report.examples += 1
            report.statuses[response.status_code] += 1
            if response.status_code >= 500:
                server_errors.append(response.status_code)
            try:
                if response.status_code >= 500 and errors:
                    raise AssertionError(f"{describe(response, [])}\n{errors[-1]}")
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except FailureGroup as exc:
                    raise AssertionError(describe(response, exc.exceptions)) from None
            finally:
                transaction.set_rollback(True)

    try:
        run()
    except Unsatisfiable:
        # The negative mode of a parameter it cannot make invalid (the positive mode of the
        # same operation still runs).
        report.unsatisfiable.append(label)
    except Exception as exc:  # every failure is reported; the run goes on
        message = f"{label}: {exc}"
        report.failures.append(message)
        if server_errors:
            report.server_errors.append(message)

"""Schemathesis against the published schema: every operation, with valid and invalid data,
as a logged-in user who owns one object of every kind (tests/world.py).

In-process over WSGI rather than against a live daphne: each case runs on the test database
inside a savepoint that is rolled back, so cases do not depend on one another (a logout does
not log out the cases after it) and the run needs no server, worker or port. The ASGI body
guard in front of the app is not on this path; test_bodylimit.py covers it.

Nothing is excluded. The two operations that start long work (POST /generations/ and
/remixes/) only queue a job here: the enqueue happens on commit, and no case commits.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import got_request_exception, request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from accounts.services import token_issue
from tests.world import World, build_world

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# Cases per operation and mode: ~60 operations x 2 modes x 10 stays near a minute on 2 cores.
MAX_EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """The app over WSGI on this test's database connection: Django would otherwise close it
    at the end of each request (inside the test's transaction), as its test client avoids."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def server_errors() -> Iterator[list[str]]:
    """Tracebacks of the exceptions behind any 500, for the report."""
    found: list[str] = []

    def record(sender: Any, request: Any = None, **kwargs: Any) -> None:
        found.append(traceback.format_exc(limit=-3))

    got_request_exception.connect(record)
    yield found
    got_request_exception.disconnect(record)


class Tally:
    def __init__(self) -> None:
        self.cases: Counter[str] = Counter()
        self.statuses: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.failures: defaultdict[str, dict[str, str]] = defaultdict(dict)

    def record(self, label: str, status: int | None, failure: FailureGroup | None) -> None:
        self.cases[label] += 1
        if status is not None:
            self.statuses[label][status] += 1
        for item in failure.exceptions if failure else []:
            self.failures[label].setdefault(item.title, str(failure))

    def report(self, seconds: float) -> str:
        lines = [f"{'operation':66} cases  outcome   statuses"]
        for label, cases in self.cases.items():
            outcome = "FAILED" if self.failures[label] else "passed"
            statuses = " ".join(f"{s}x{n}" for s, n in sorted(self.statuses[label].items()))
            lines.append(f"{label:66} {cases:5}  {outcome:8}  {statuses}")
        failed = sum(1 for label in self.cases if self.failures[label])
        lines.append(
            f"schemathesis: {len(self.cases)} operations, {sum(self.cases.values())} "
            f"cases, {failed} operations failed, in {seconds:.0f} s"
        )
        return "\n".join(lines)


def test_the_api_answers_every_generated_request_as_its_schema_says(
    owner: User,
    friend: User,
    wsgi_app: Any,
    server_errors: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a user who owns one of everything, and the schema the app publishes
    world: World = build_world(owner, grantee=friend)
    headers = {"Authorization": f"Bearer {token_issue(user=owner)}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    tally = Tally()
    started = time.monotonic()

    def send(case: Any, use_world: bool = False) -> None:
        # Half the cases name the user's own objects, so ids reach past the 404.
        if use_world:
            for name in case.path_parameters or {}:
                case.path_parameters[name] = world.ids[name][0]
        cache.clear()  # throttles would answer every later case 429
        failure = None
        with transaction.atomic():
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as exc:
                failure = exc
            transaction.set_rollback(True)
        tally.record(case.operation.label, response.status_code, failure)

    # when every operation is called with valid and with invalid data
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode), use_world=st.booleans())
            def run(case: Any, use_world: bool) -> None:
                send(case, use_world)

            run()

    # then no case broke the server or answered other than documented
    with capsys.disabled():
        print("\n" + tally.report(time.monotonic() - started))
    assert len(operations) >= 60
    assert sum(tally.cases.values()) >= len(operations) * MAX_EXAMPLES
    failures = [
        f"{label}: {message}"
        for label, found in tally.failures.items()
        for message in found.values()
    ]
    assert not failures and not server_errors, "\n".join(failures + server_errors)

"""No staff action is reachable by anyone else, looked for everywhere at once.

From the published schema, like the BOLA walk: every operation is called by a signed-in
user who is not staff, by staff without the moderator role, and anonymously, with a valid
body and the paths filled with real objects. The moderators' endpoints refuse each of them,
and after every operation of the whole API has been called nothing a moderator does has
happened: no case claimed or decided, no reporter marked, nobody suspended, no post down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import resolve
from rest_framework.test import APIClient

from accounts.models import User
from feeds.models import Post, Takedown
from moderation.api import IsModerator
from moderation.models import Case, Decision, ReporterStanding
from moderation.roles import SENIOR_MODERATOR
from tests.factories import UserFactory
from tests.test_bola import METHODS, PARAMETER, request_body
from tests.world import build_world

pytestmark = pytest.mark.slow


def _view_class(path: str) -> Any:
    return resolve(PARAMETER.sub("1", path)).func.view_class  # type: ignore[attr-defined]


def staff_paths(schema: dict[str, Any]) -> list[str]:
    return [
        path
        for path in schema["paths"]
        if IsModerator in getattr(_view_class(path), "permission_classes", [])
    ]


def test_the_moderators_endpoints_are_found_in_the_schema(schema: dict[str, Any]) -> None:
    found = staff_paths(schema)
    for expected in (
        "/api/v1/moderation/cases/",
        "/api/v1/moderation/cases/claim/",
        "/api/v1/moderation/cases/{case_id}/release/",
        "/api/v1/moderation/decisions/",
        "/api/v1/moderation/reporters/",
    ):
        assert expected in found, expected


def test_no_one_but_a_moderator_reaches_a_staff_action_through_any_endpoint(
    schema: dict[str, Any],
    owner: User,
    friend: User,
    stranger: User,
    client_for: Callable[[User | None], APIClient],
) -> None:
    # given the owner's world with an open case on their post, and a senior moderator
    # who has claimed nothing
    world = build_world(owner, grantee=friend)
    senior = UserFactory(username="senior", is_staff=True)
    senior.groups.add(Group.objects.get(name=SENIOR_MODERATOR))
    clerk = UserFactory(username="clerk", is_staff=True)  # staff, but not a moderator
    callers = {
        "user": client_for(stranger),
        "owner": client_for(owner),
        "staff without the role": client_for(clerk),
        "anonymous": client_for(None),
    }
    staff = set(staff_paths(schema))
    ids = {name: values[0] for name, values in world.ids.items()}
    ids["username"] = owner.username  # a body or path naming a user names the owner
    problems = []
    calls = 0
    # when each of them calls every operation of the API, staff or not
    for path, operations in schema["paths"].items():
        if any(name not in ids for name in PARAMETER.findall(path)):
            continue  # test_bola.py fails until tests/world.py has one
        url = path.format(**{name: ids[name] for name in PARAMETER.findall(path)})
        for (who, client), method in ((c, m) for c in callers.items() for m in METHODS):
            if method.lower() not in operations:
                continue
            body, wire = request_body(schema, operations.get(method.lower()))
            if isinstance(body, dict):
                body = {k: _aimed(k, v, ids) for k, v in body.items()}
            cache.clear()  # throttles: a refusal must be the permission's, never a 429
            if body is None:
                response = client.generic(method, url)
            else:
                response = getattr(client, method.lower())(url, body, format=wire)
            calls += 1
            if response.status_code >= 500:
                problems.append(f"{who} {method} {url} -> {response.status_code}")
            if path in staff and response.status_code not in (401, 403):
                problems.append(f"{who} {method} {url} -> {response.status_code} (staff only)")
    # then every staff endpoint refused them, and no moderator's act happened anywhere
    assert calls > 100
    assert not problems, "\n".join(problems)
    assert not Decision.objects.exists()
    assert not Case.objects.filter(claimed_by__isnull=False).exists()
    assert not ReporterStanding.objects.exists()
    assert User.objects.filter(is_active=False).count() == 0
    moderated = Takedown.objects.exclude(actor=owner).exclude(actor__isnull=True)
    assert not moderated.exists()
    assert not Post.objects.filter(age_restricted=True).exists()


def _aimed(key: str, value: Any, ids: dict[str, str]) -> Any:
    """Point a body's ids at the real objects, so a refusal is the permission's."""
    if key == "username":
        return ids["username"]
    if key == "case_id" and "case_id" in ids:
        return int(ids["case_id"])
    if key in ids and isinstance(value, str):
        return ids[key]
    return value

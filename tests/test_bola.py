"""Broken object-level authorization, looked for everywhere at once.

Built from the published schema: every path with a path parameter, every method, called by a
stranger and by an anonymous client on the owner's non-public objects (tests/world.py). A
new endpoint is walked without editing this file; a new path parameter fails the test until
tests/world.py gives the owner an object of that kind.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from rest_framework.test import APIClient

from accounts.models import User
from tests.world import PUBLIC_KEYS, World, build_world

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REFUSED = {401, 403, 404, 405}
PARAMETER = re.compile(r"{(\w+)}")


@pytest.fixture
def owners_world(owner: User, friend: User) -> World:
    return build_world(owner, grantee=friend)


def object_paths(schema: dict[str, Any]) -> list[str]:
    return [path for path in schema["paths"] if PARAMETER.search(path)]


# --- Request bodies: a valid one, so a refusal comes from the access check, not validation ---
def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in node:
            return resolve(schema, node[combinator][0])
    return node


def example_value(schema: dict[str, Any], node: dict[str, Any]) -> Any:
    node = resolve(schema, node)
    kind = node.get("type")
    if node.get("enum"):
        return next(v for v in node["enum"] if v not in (None, ""))
    if node.get("nullable"):
        return None
    if kind == "string" and node.get("format") == "binary":
        return SimpleUploadedFile("clip.mp4", b"\x00\x00\x00\x18ftypisom", "video/mp4")
    if kind == "string":
        return "x" * max(1, node.get("minLength", 1))
    if kind in ("integer", "number"):
        return max(node.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        properties = node.get("properties", {})
        return {name: example_value(schema, prop) for name, prop in properties.items()}
    return "x"


def request_body(schema: dict[str, Any], operation: dict[str, Any] | None) -> tuple[Any, str]:
    content = (operation or {}).get("requestBody", {}).get("content", {})
    for media_type, wire in (("application/json", "json"), ("multipart/form-data", "multipart")):
        if media_type in content:
            return example_value(schema, content[media_type]["schema"]), wire
    return None, "json"


# --- Calls -------------------------------------------------------------------------------------
def call(client: APIClient, method: str, path: str, body: Any, wire: str) -> Any:
    """One request whose effects are rolled back, so no call changes what the next one sees
    (a stranger's follow would otherwise make them a follower)."""
    cache.clear()  # throttles: a refusal must be the access check's, never a 429
    with transaction.atomic():
        if body is None:
            response = client.generic(method, path)
        else:
            response = getattr(client, method.lower())(path, body, format=wire)
        transaction.set_rollback(True)
    return response


def combinations(
    path: str, owners: World, callers: World | None
) -> Iterator[tuple[dict[str, str], bool]]:
    """Each way to fill the path with the owner's objects, and with the caller's own for the
    other parameters (the caller's cameo with the owner's grant); yields the values and
    whether a 2xx may be right (only the owner's public keys are the owner's in them)."""
    names = PARAMETER.findall(path)
    choices = []
    for name in names:
        mine = [("owner", v) for v in owners.ids[name]]
        theirs = [("caller", v) for v in callers.ids[name][:1]] if callers else []
        choices.append(mine + theirs)
    for picked in itertools.product(*choices):
        owned = [name for name, (whose, _) in zip(names, picked, strict=True) if whose == "owner"]
        if not owned:
            continue  # the caller's own objects: theirs to use
        values = {name: value for name, (_, value) in zip(names, picked, strict=True)}
        yield values, all(name in PUBLIC_KEYS for name in owned)


def test_every_path_parameter_in_the_schema_names_an_object_of_the_owners_world(
    schema: dict[str, Any], owners_world: World
) -> None:
    paths = object_paths(schema)
    unmapped = sorted(
        {
            (name, path)
            for path in paths
            for name in PARAMETER.findall(path)
            if name not in owners_world.ids
        }
    )
    assert not unmapped, f"give the owner an object of each kind in tests/world.py: {unmapped}"
    assert len(paths) >= 30


@pytest.mark.slow
def test_no_stranger_or_anonymous_caller_reaches_the_owners_non_public_objects(
    schema: dict[str, Any],
    owners_world: World,
    stranger: User,
    friend: User,
    client_for: Callable[[User | None], APIClient],
) -> None:
    # given the owner's objects, and the stranger's own (not a follower of the owner)
    strangers_world = build_world(stranger, grantee=friend)
    callers = [
        ("stranger", client_for(stranger), strangers_world),
        ("anonymous", client_for(None), None),
    ]
    problems: list[str] = []
    calls = 0
    # when each of them calls every method on every object path
    for path in object_paths(schema):
        if any(name not in owners_world.ids for name in PARAMETER.findall(path)):
            continue  # reported by the test above
        operations = schema["paths"][path]
        for (who, client, theirs), method in itertools.product(callers, METHODS):
            body, wire = request_body(schema, operations.get(method.lower()))
            for values, public in combinations(path, owners_world, theirs):
                url = path.format(**values)
                response = call(client, method, url, body, wire)
                calls += 1
                status = response.status_code
                text = response.content.decode(errors="replace")
                # then nothing of the owner's comes back, and nothing breaks
                leaked = [s for s in owners_world.secrets if s in text] if status < 300 else []
                if (
                    status >= 500
                    or leaked
                    or (status < 300 and not public)
                    or (300 <= status < 500 and status not in REFUSED)
                ):
                    problems.append(f"{who} {method} {url} -> {status} {text[:160]} {leaked}")
    assert calls > 500
    assert not problems, f"{len(problems)} of {calls} calls:\n" + "\n".join(problems)


def test_the_owner_reads_each_of_their_objects_so_the_walk_is_not_vacuous(
    schema: dict[str, Any], owners_world: World, client_for: Callable[[User], APIClient]
) -> None:
    client = client_for(owners_world.user)
    refused = []
    readable = [path for path in object_paths(schema) if "get" in schema["paths"][path]]
    for path in readable:
        url = path.format(**{name: ids[0] for name, ids in owners_world.ids.items()})
        response = call(client, "GET", url, None, "json")
        if response.status_code >= 300:
            refused.append(f"GET {url} -> {response.status_code} {response.content[:160]!r}")
    assert len(readable) >= 15
    assert not refused, "\n".join(refused)

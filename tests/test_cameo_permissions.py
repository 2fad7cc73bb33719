from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Follow, User
from consent.models import Appearance, ConsentEvent
from consent.services import appearance_record, cast_authorize
from jobs.models import Job
from media.models import Video
from tests.factories import make_verified_cameo


def may_cast(cameo: Any, user: User) -> bool:
    try:
        cast_authorize(cameo=cameo, user=user, stage="submission")
    except Exception as refused:
        assert getattr(refused, "code", None) in {"cameo_not_permitted", "cameo_revoked"}
        return False
    return True


def test_only_me_lets_nobody_else_cast(owner: User, friend: User) -> None:
    cameo = make_verified_cameo(owner, audience="only_me")
    assert may_cast(cameo, owner)
    assert not may_cast(cameo, friend)


def test_a_user_without_permission_cannot_cast_and_the_refusal_is_audited(
    owner: User, stranger: User
) -> None:
    cameo = make_verified_cameo(owner, audience="approved")
    assert not may_cast(cameo, stranger)
    refusal = ConsentEvent.objects.get(kind="cast_refused", subject=owner)
    assert refusal.actor == stranger and refusal.detail["reason"] == "not_permitted"


def test_approved_people_may_cast_until_the_approval_is_withdrawn(
    owner: User, friend: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    cameo = make_verified_cameo(owner, audience="approved")
    # friend asks, owner approves
    asked = client_for(friend).post(f"/api/v1/cameos/{cameo.id}/grants/", {"note": "for a skit"})
    assert asked.status_code == 201 and asked.json()["state"] == "requested"
    grant_id = asked.json()["id"]
    assert not may_cast(cameo, friend)
    owner_client = client_for(owner)
    approved = owner_client.post(f"/api/v1/cameos/{cameo.id}/grants/{grant_id}/approve/")
    assert approved.json()["state"] == "approved"
    assert may_cast(cameo, friend) and not may_cast(cameo, stranger)
    # friend has a render in flight when the owner withdraws the approval
    pending = Job.objects.create(owner=friend, kind="generation.render", state="queued")
    appearance_record(cameo=cameo, user=friend, job=pending, receipt={})
    revoked = owner_client.post(f"/api/v1/cameos/{cameo.id}/grants/{grant_id}/revoke/")
    assert revoked.json()["state"] == "revoked"
    assert not may_cast(cameo, friend)
    assert Job.objects.get(pk=pending.pk).state == "cancelled"


def test_a_stranger_cannot_approve_a_request_on_someone_elses_cameo(
    owner: User, friend: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    cameo = make_verified_cameo(owner, audience="approved")
    grant_id = client_for(friend).post(f"/api/v1/cameos/{cameo.id}/grants/").json()["id"]
    response = client_for(friend).post(f"/api/v1/cameos/{cameo.id}/grants/{grant_id}/approve/")
    assert response.status_code == 404
    assert not may_cast(cameo, friend)


def test_mutuals_means_both_follow_each_other(owner: User, friend: User) -> None:
    cameo = make_verified_cameo(owner, audience="mutuals")
    Follow.objects.create(follower=friend, followee=owner)
    assert not may_cast(cameo, friend)
    Follow.objects.create(follower=owner, followee=friend)
    assert may_cast(cameo, friend)


def test_everyone_means_everyone_while_use_by_others_consent_stands(
    owner: User, stranger: User
) -> None:
    cameo = make_verified_cameo(owner, audience="everyone")
    assert may_cast(cameo, stranger)


def test_a_revoked_cameo_cannot_be_cast_even_by_its_owner(owner: User) -> None:
    from cameo.cascade import cameo_revoke

    cameo = make_verified_cameo(owner, audience="everyone")
    cameo_revoke(cameo=cameo, actor=owner, reason="owner_revoked")
    cameo.refresh_from_db()
    assert not may_cast(cameo, owner)


def test_the_receipt_records_the_permission_and_the_owners_instructions(
    owner: User, friend: User
) -> None:
    cameo = make_verified_cameo(owner, audience="everyone")
    cameo.instructions = "No villains, please."
    cameo.save()
    receipt = cast_authorize(cameo=cameo, user=friend, stage="render")
    assert receipt["basis"] == "everyone" and receipt["instructions"] == "No villains, please."
    assert receipt["used_by"] == "friend" and receipt["stage"] == "render"


# --- Ownership at the API edge ----------------------------------------------------------------
def test_nobody_else_reads_a_private_cameo_or_any_biometrics(
    owner: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    private = make_verified_cameo(owner, audience="only_me")
    them = client_for(stranger)
    assert them.get(f"/api/v1/cameos/{private.id}/").status_code == 404
    assert them.get(f"/api/v1/cameos/{private.id}/biometrics/").status_code == 404
    mine = client_for(owner).get(f"/api/v1/cameos/{private.id}/biometrics/")
    assert mine.status_code == 200 and len(mine.json()["face_crops"]) == 3


def test_a_public_cameo_shows_others_its_card_but_never_its_biometrics(
    owner: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    public = make_verified_cameo(owner, audience="everyone")
    them = client_for(stranger)
    card = them.get(f"/api/v1/cameos/{public.id}/").json()
    assert set(card) == {"id", "owner", "state", "audience"}
    assert them.get(f"/api/v1/cameos/{public.id}/biometrics/").status_code == 404
    assert them.get(f"/api/v1/cameos/{public.id}/grants/").status_code == 404
    assert them.get(f"/api/v1/cameos/{public.id}/appearances/").status_code == 404
    patched = them.patch(f"/api/v1/cameos/{public.id}/", {"audience": "only_me"}, format="json")
    assert patched.status_code == 404


def test_the_owner_sees_every_appearance_and_takes_one_down(
    owner: User, friend: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    cameo = make_verified_cameo(owner, audience="everyone")
    draft = Video.objects.create(owner=friend, state=Video.State.DRAFT)
    appearance = Appearance.objects.create(cameo=cameo, used_by=friend, video=draft)
    listed = client_for(owner).get(f"/api/v1/cameos/{cameo.id}/appearances/").json()["results"]
    assert [a["id"] for a in listed] == [appearance.id]
    assert listed[0]["video_state"] == "draft" and listed[0]["used_by"] == "friend"
    url = f"/api/v1/cameos/{cameo.id}/appearances/{appearance.id}/takedown/"
    assert client_for(stranger).post(url).status_code == 404
    assert client_for(friend).post(url).status_code == 404
    done = client_for(owner).post(url)
    assert done.status_code == 200 and done.json()["video_state"] == "taken_down"


def test_the_owner_sets_audience_and_portrayal_instructions(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    cameo = make_verified_cameo(owner)
    response = client_for(owner).patch(
        f"/api/v1/cameos/{cameo.id}/",
        {"audience": "mutuals", "instructions": "Keep it kind."},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["audience"], response.json()["instructions"]) == (
        "mutuals",
        "Keep it kind.",
    )
    bad = client_for(owner).patch(
        f"/api/v1/cameos/{cameo.id}/", {"audience": "aliens"}, format="json"
    )
    assert bad.status_code == 400 and "audience" in bad.json()["fields"]


@pytest.mark.parametrize("path", ["/api/v1/cameos/nope/", "/api/v1/cameo/captures/123/"])
def test_garbage_ids_are_404s(
    owner: User, client_for: Callable[[User], APIClient], path: str
) -> None:
    assert client_for(owner).get(path).status_code == 404

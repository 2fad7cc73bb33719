from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from accounts.models import User
from cameo import cascade
from cameo.cascade import doubles_purge_unused
from cameo.models import Biometrics, Cameo, Capture
from cameo.services import capture_start
from consent import services
from consent.models import Appearance, ConsentEvent
from jobs.models import Job
from media.models import Video
from tests.factories import give_consent, make_verified_cameo


def test_the_current_documents_are_published(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    documents = client_for(owner).get("/api/v1/consent/documents/").json()
    assert {d["kind"] for d in documents} == {"likeness_capture", "voice_capture", "use_by_others"}


def test_consent_is_accepted_explicitly_with_version_time_and_client(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    client = client_for(owner)
    refused = client.post(
        "/api/v1/consent/",
        {"kind": "likeness_capture", "version": 1, "accepted": False},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["code"] == "consent_not_accepted"
    response = client.post(
        "/api/v1/consent/",
        {
            "kind": "likeness_capture",
            "version": 1,
            "accepted": True,
            "client": {"app_version": "3.2.1", "locale": "en_GB"},
        },
        format="json",
        HTTP_USER_AGENT="Doubletake/3.2.1 (iOS 19)",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["version"], body["withdrawn_at"]) == ("likeness_capture", 1, None)
    assert body["client"]["app_version"] == "3.2.1"
    assert body["client"]["user_agent"] == "Doubletake/3.2.1 (iOS 19)"
    assert body["accepted_at"]


def test_nothing_biometric_is_captured_before_consent(owner: User) -> None:
    with pytest.raises(Exception) as raised:
        capture_start(owner=owner)
    assert raised.value.code == "consent_required"  # type: ignore[attr-defined]
    assert set(raised.value.extra["missing"]) == {"likeness_capture", "voice_capture"}  # type: ignore[attr-defined]
    assert not Capture.objects.exists()


def _files_under(prefix: str, root: Path) -> list[Path]:
    return [p for p in (root / prefix).rglob("*") if p.is_file()]


def test_withdrawing_likeness_consent_revokes_the_double_and_deletes_its_biometrics(
    owner: User,
    friend: User,
    client_for: Callable[[User], APIClient],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a double, a friend's video that features it and a friend's job still pending
    cameo = make_verified_cameo(owner, audience="everyone")
    prefix = cameo.capture.prefix
    assert len(_files_under(prefix, Path(settings.MEDIA_ROOT))) == 5
    video = Video.objects.create(owner=friend, state=Video.State.PUBLISHED)
    done_job = Job.objects.create(owner=friend, kind="generation.render", state="succeeded")
    Appearance.objects.create(cameo=cameo, used_by=friend, job=done_job, video=video)
    pending = Job.objects.create(owner=friend, kind="generation.render", state="running")
    Appearance.objects.create(cameo=cameo, used_by=friend, job=pending)
    # when the owner withdraws consent, in one call
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(
            "/api/v1/consent/withdraw/", {"kind": "likeness_capture"}, format="json"
        )
    # then everything the issue promises is observable
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "cameos_revoked": 1,
        "captures_withdrawn": 0,
        "jobs_cancelled": 1,
        "videos_taken_down": 1,
    }
    cameo.refresh_from_db()
    assert cameo.state == Cameo.State.REVOKED
    assert Job.objects.get(pk=pending.pk).state == "cancelled"
    assert Video.objects.get(pk=video.pk).state == Video.State.TAKEN_DOWN
    assert not Biometrics.objects.filter(cameo=cameo).exists()
    assert _files_under(prefix, Path(settings.MEDIA_ROOT)) == []
    assert not default_storage.exists(cameo.capture.clip)
    kinds = set(ConsentEvent.objects.filter(subject=owner).values_list("kind", flat=True))
    assert {
        "consent_withdrawn",
        "job_cancelled",
        "appearance_taken_down",
        "biometrics_deleted",
    } <= kinds


def test_withdrawing_use_by_others_stops_others_but_keeps_the_double(
    owner: User, friend: User, django_capture_on_commit_callbacks: Any
) -> None:
    cameo = make_verified_cameo(owner, audience="everyone")
    mine = Video.objects.create(owner=owner, state=Video.State.PUBLISHED)
    theirs = Video.objects.create(owner=friend, state=Video.State.PUBLISHED)
    Appearance.objects.create(cameo=cameo, used_by=owner, video=mine)
    Appearance.objects.create(cameo=cameo, used_by=friend, video=theirs)
    with django_capture_on_commit_callbacks(execute=True):
        summary = cascade.consent_withdraw(user=owner, kind="use_by_others")
    assert summary == {"jobs_cancelled": 0, "videos_taken_down": 1}
    assert Video.objects.get(pk=mine.pk).state == Video.State.PUBLISHED
    assert Video.objects.get(pk=theirs.pk).state == Video.State.TAKEN_DOWN
    cameo.refresh_from_db()
    assert cameo.is_active and Biometrics.objects.filter(cameo=cameo).exists()
    with pytest.raises(Exception) as raised:
        services.cast_authorize(cameo=cameo, user=friend, stage="submission")
    assert raised.value.code == "cameo_not_permitted"  # type: ignore[attr-defined]
    assert services.cast_authorize(cameo=cameo, user=owner, stage="submission")["basis"] == "owner"


def test_withdrawing_consent_that_was_never_given_is_a_clear_error(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    response = client_for(owner).post(
        "/api/v1/consent/withdraw/", {"kind": "voice_capture"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "consent_not_given"


def test_withdrawal_cancels_a_verification_in_flight_and_deletes_its_clip(
    owner: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core.files.base import ContentFile

    give_consent(owner)
    capture = capture_start(owner=owner)
    job = Job.objects.create(owner=owner, kind="cameo.verify", state="running")
    clip = default_storage.save(f"{capture.prefix}/clip.mp4", ContentFile(b"clip bytes"))
    Capture.objects.filter(pk=capture.pk).update(state="verifying", job=job, clip=clip)
    with django_capture_on_commit_callbacks(execute=True):
        summary = cascade.consent_withdraw(user=owner, kind="voice_capture")
    assert summary["captures_withdrawn"] == 1 and summary["jobs_cancelled"] == 1
    assert Job.objects.get(pk=job.pk).state == "cancelled"
    assert not default_storage.exists(clip)


def test_retention_deletes_doubles_unused_for_three_years(
    owner: User, friend: User, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    stale = make_verified_cameo(owner)
    fresh = make_verified_cameo(friend)
    Cameo.objects.filter(pk=stale.pk).update(
        last_used_at=timezone.now() - timedelta(days=3 * 365 + 1)
    )
    Cameo.objects.filter(pk=fresh.pk).update(last_used_at=timezone.now() - timedelta(days=30))
    with django_capture_on_commit_callbacks(execute=True):
        assert doubles_purge_unused() == 1
    assert Cameo.objects.get(pk=stale.pk).revoke_reason == "retention"
    assert not Biometrics.objects.filter(cameo=stale).exists()
    assert Cameo.objects.get(pk=fresh.pk).is_active


def test_the_audit_log_is_append_only_and_readable_by_the_subject_only(
    owner: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    give_consent(owner)
    events = ConsentEvent.objects.filter(subject=owner)
    first = events.first()
    assert first is not None
    with pytest.raises(PermissionError):
        first.save()
    with pytest.raises(PermissionError):
        events.update(detail={})
    with pytest.raises(PermissionError):
        events.delete()
    mine = client_for(owner).get("/api/v1/consent/audit/").json()["results"]
    assert {e["kind"] for e in mine} == {"consent_accepted"} and len(mine) == 3
    assert client_for(stranger).get("/api/v1/consent/audit/").json()["results"] == []


def test_a_new_document_version_needs_a_new_acceptance(owner: User) -> None:
    from consent.models import ConsentDocument

    give_consent(owner)
    assert services.has_consent(owner, "use_by_others")
    ConsentDocument.objects.create(kind="use_by_others", version=2, title="v2", body="new terms")
    assert not services.has_consent(owner, "use_by_others")

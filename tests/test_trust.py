"""Trust holes found from outside (issue 11): each test is the attack that once worked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from accounts.models import Follow, User
from feeds import services as feed_services
from feeds.models import Post
from media.models import Video
from tests.factories import PASSWORD, UserFactory

Client = Callable[[User | None], APIClient]


def _video_with_files(owner: User, job_hex: str) -> Video:
    names = {}
    for field, body in (("file", b"\x00\x00\x00\x18ftypmp42 a video"), ("poster", b"\xff\xd8\xff")):
        names[field] = default_storage.save(f"jobs/{job_hex}/{field}.bin", ContentFile(body))
    from jobs.models import Job

    job = Job.objects.create(id=job_hex, owner=owner, kind="generation.render", state="succeeded")
    return Video.objects.create(
        owner=owner,
        job=job,
        width=720,
        height=1280,
        duration_s=3.0,
        prompt="a secret prompt",
        **names,
    )


def _published(owner: User, visibility: str, job_hex: str) -> Post:
    video = _video_with_files(owner, job_hex)
    return feed_services.post_publish(video=video, author=owner, caption="", visibility=visibility)


# --- Videos are exactly as visible as their posts ------------------------------------------
@pytest.mark.parametrize("visibility", ["private", "followers"])
def test_another_users_private_or_followers_only_video_is_not_found(
    owner: User, stranger: User, client_for: Client, visibility: str
) -> None:
    post = _published(owner, visibility, "a" * 32)
    # when a stranger asks for the video by id
    response = client_for(stranger).get(f"/api/v1/videos/{post.video_id}/")
    # then it does not exist for them, and nothing of it leaks
    assert response.status_code == 404
    assert "secret" not in response.content.decode()
    assert client_for(None).get(f"/api/v1/videos/{post.video_id}/").status_code in (401, 404)
    # while the author still sees it
    assert client_for(owner).get(f"/api/v1/videos/{post.video_id}/").status_code == 200


def test_a_follower_sees_a_followers_only_video_and_everyone_a_public_one(
    owner: User, friend: User, stranger: User, client_for: Client
) -> None:
    followers_only = _published(owner, "followers", "b" * 32)
    public = _published(owner, "public", "c" * 32)
    Follow.objects.create(follower=friend, followee=owner)
    assert client_for(friend).get(f"/api/v1/videos/{followers_only.video_id}/").status_code == 200
    assert client_for(stranger).get(f"/api/v1/videos/{public.video_id}/").status_code == 200


def test_a_media_link_stops_working_the_moment_its_video_is_taken_down(
    owner: User, client_for: Client
) -> None:
    post = _published(owner, "public", "d" * 32)
    links = client_for(owner).get(f"/api/v1/videos/{post.video_id}/").json()
    anonymous = APIClient()  # a signed link needs no login: it is handed to a <video> tag
    assert anonymous.get(links["url"]).status_code == 200
    assert anonymous.get(links["poster_url"]).status_code == 200
    # when the post is taken down, the links made before it stop at once
    feed_services.post_take_down(post=post, actor=owner, reason="author")
    for url in (links["url"], links["poster_url"]):
        gone = anonymous.get(url)
        assert gone.status_code == 410
        assert gone.json()["code"] == "media_unavailable"


def test_a_media_link_stops_working_when_the_cast_double_is_withdrawn(
    owner: User, friend: User, client_for: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from consent.models import Appearance
    from tests.factories import make_verified_cameo

    # given a friend's public video that casts the owner's double, and a link to it
    cameo = make_verified_cameo(owner, audience="everyone")
    post = _published(friend, "public", "9" * 32)
    Appearance.objects.create(cameo=cameo, used_by=friend, job=post.video.job, video=post.video)
    url = client_for(friend).get(f"/api/v1/videos/{post.video_id}/").json()["url"]
    assert APIClient().get(url).status_code == 200
    # when the owner withdraws likeness consent
    with django_capture_on_commit_callbacks(execute=True):
        client_for(owner).post(
            "/api/v1/consent/withdraw/", {"kind": "likeness_capture"}, format="json"
        )
    # then the link handed out before stops at once
    assert APIClient().get(url).status_code == 410


def test_a_tampered_media_link_is_refused(owner: User, client_for: Client) -> None:
    post = _published(owner, "public", "e" * 32)
    url = client_for(owner).get(f"/api/v1/videos/{post.video_id}/").json()["url"]
    response = APIClient().get(url[:-3] + "xyz")
    assert (response.status_code, response.json()["code"]) == (404, "media_link_invalid")


# --- Login throttles cannot be reset by the client -------------------------------------------
def _login(client: APIClient, username: str, password: str, **headers: str) -> Any:
    return client.post(
        "/api/v1/auth/login/",
        {"username": username, "password": password},
        format="json",
        **headers,
    )


def test_rotating_x_forwarded_for_does_not_reset_the_login_limit(db: None) -> None:
    UserFactory(username="alice")
    client = APIClient()
    # given wrong passwords on one account, each "from" a different forwarded address
    for attempt in range(10):
        response = _login(client, "alice", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}")
        assert response.status_code == 401
    # then the next, with the right password and a fresh header, is still throttled
    blocked = _login(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "throttled"
    # and one address spraying many accounts is not reset by the header either
    for n in range(20):
        _login(client, f"user{n}", "wrong", HTTP_X_FORWARDED_FOR=f"10.5.0.{n}")
    assert _login(client, "user99", "x", HTTP_X_FORWARDED_FOR="10.6.6.6").status_code == 429


def test_spaces_or_capitals_around_a_username_count_against_the_same_account(db: None) -> None:
    UserFactory(username="alice")
    client = APIClient()
    for attempt in range(10):
        variant = ["alice", "alice ", " Alice", "ALICE\t"][attempt % 4]
        assert _login(client, variant, "wrong", REMOTE_ADDR=f"10.1.0.{attempt}").status_code == 401
    assert _login(client, "alice ", PASSWORD, REMOTE_ADDR="10.1.1.1").status_code == 429


def test_a_username_with_spaces_or_capitals_logs_in_as_the_same_user(db: None) -> None:
    user = UserFactory(username="alice")
    response = _login(APIClient(), "  Alice ", PASSWORD)
    assert response.status_code == 200
    assert response.json()["user"]["id"] == user.pk


def test_one_address_cannot_try_passwords_on_many_accounts_without_limit(db: None) -> None:
    client = APIClient()
    statuses = [_login(client, f"user{n}", "wrong").status_code for n in range(31)]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429


def test_a_trusted_proxy_count_takes_the_address_the_proxy_saw(db: None, settings: Any) -> None:
    from rest_framework.settings import api_settings

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    api_settings.reload()
    try:
        client = APIClient()
        # behind one proxy, the client forges the left part; the proxy appends the real one
        for attempt in range(30):
            forged = f"10.2.0.{attempt}, 203.0.113.7"
            assert (
                _login(client, f"u{attempt}", "x", HTTP_X_FORWARDED_FOR=forged).status_code == 401
            )
        again = _login(client, "u99", "x", HTTP_X_FORWARDED_FOR="10.3.3.3, 203.0.113.7")
        assert again.status_code == 429
        other = _login(client, "u98", "x", HTTP_X_FORWARDED_FOR="203.0.113.8")
        assert other.status_code == 401
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
        api_settings.reload()


# --- A body that is not a JSON object is a 400, on every endpoint ------------------------------
NOT_OBJECTS = ["[null, null]", '"x"', "1", "[]", "null", "[1,2]", "true"]


@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_login_with_a_json_body_that_is_not_an_object_is_a_clear_400(db: None, body: str) -> None:
    response = APIClient().post("/api/v1/auth/login/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "body_not_object"


def test_every_json_endpoint_refuses_a_body_that_is_not_an_object(
    owner: User, client_for: Client
) -> None:
    import yaml
    from django.test import Client as DjangoClient

    # Every operation of the published schema that takes a JSON body, with a real post of
    # the caller's in post paths (so the body is read) and unknown ids elsewhere.
    post = _published(owner, "public", "f" * 32)
    document = yaml.safe_load(DjangoClient().get("/api/schema/").content)
    client = client_for(owner)
    tried = refused = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" not in content:
                continue
            url = _fill(path, post_id=post.pk)
            response = getattr(client, method)(url, "[1,2]", content_type="application/json")
            assert response.status_code < 500, (method, path, response.content[:300])
            if response.status_code == 400:
                assert response.json()["code"] == "body_not_object", (method, path)
                refused += 1
            tried += 1
    assert tried >= 15  # the schema lists every JSON endpoint; none was skipped by mistake
    assert refused >= 10


def _fill(path: str, *, post_id: int) -> str:
    import re

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "post_id":
            return str(post_id)
        if name == "comment_id":
            return "1"
        if name in ("username", "tag"):
            return "owner"
        return "00000000-0000-0000-0000-000000000000"

    return re.sub(r"\{([^}]+)\}", value, path)


# --- Provenance lookup tells only what the viewer may see -----------------------------------
def _fingerprinted(owner: User, clip: Any, visibility: str | None) -> Video:
    from generation.pipeline.fingerprint import fingerprint

    video = Video.objects.create(
        owner=owner,
        width=320,
        height=240,
        duration_s=2.0,
        prompt="a secret prompt",
        fingerprint=fingerprint(clip).to_json(),
        manifest={
            "pipeline": {"name": "doubletake", "version": "1"},
            "request": {"prompt": "a secret prompt"},
            "soft_binding": {"alg": "org.doubletake.fingerprint.test"},
        },
    )
    # Hashed as a kept video is, from the file (this one has none in storage).
    from media import hashes as media_hashes

    hashes = media_hashes.hashes_of_file(clip, video.fingerprint)
    media_hashes.video_hashes_store(video, hashes)
    if visibility:
        feed_services.post_publish(video=video, author=owner, caption="", visibility=visibility)
    return video


def _lookup(client: APIClient, clip: Any) -> dict[str, Any]:
    with open(clip, "rb") as handle:
        response = client.post("/api/v1/provenance/lookup/", {"file": handle}, format="multipart")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.slow
def test_the_lookup_says_made_here_but_names_no_video_the_viewer_may_not_see(
    owner: User, stranger: User, client_for: Client, tmp_path: Any
) -> None:
    from tests import media

    clip = media.make_clip(tmp_path / "clip.mp4", seconds=2, size="320x240")
    private = _fingerprinted(owner, clip, "private")
    # when a stranger looks up a copy of the owner's private video
    found = _lookup(client_for(stranger), clip)
    # then they learn it was made here, when and how, and nothing that identifies it
    assert found["generated_here"] is True and found["ai_generated"] is True
    assert found["pipeline"]["name"] == "doubletake"
    assert (found["video"], found["post"]) == (None, None)
    assert "secret" not in str(found) and str(private.id) not in str(found)
    # the file carries no manifest: the one kept here stands in, told only how it was made
    assert found["credentials"]["source"] == "stored" and found["credentials"]["redacted"]
    # this video's file is not in storage: nothing signed to check its manifest against
    assert found["credentials"]["valid"] is False
    assert found["credentials"]["manifest"] == {"pipeline": {"name": "doubletake", "version": "1"}}
    assert found["credentials"]["soft_binding"]["alg"] == "org.doubletake.fingerprint.test"
    # the owner is told which of their videos it is, with the whole of its manifest
    mine = _lookup(client_for(owner), clip)
    assert mine["video"]["id"] == str(private.id)
    assert mine["post"]["id"] == private.post.pk
    assert not mine["credentials"]["redacted"]
    assert mine["credentials"]["manifest"]["request"] == {"prompt": "a secret prompt"}


@pytest.mark.slow
def test_the_lookup_links_a_public_post_to_anyone(
    owner: User, stranger: User, client_for: Client, tmp_path: Any
) -> None:
    from tests import media

    clip = media.make_clip(tmp_path / "clip.mp4", seconds=2, size="320x240")
    public = _fingerprinted(owner, clip, "public")
    found = _lookup(client_for(stranger), clip)
    assert found["post"]["id"] == public.post.pk
    assert found["video"]["id"] == str(public.id)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["c2pa", "sidecar"])
def test_stored_credentials_are_valid_only_when_the_kept_original_signs_that_manifest(
    backend: str, owner: User, client_for: Client, tmp_path: Any
) -> None:
    from generation.pipeline import provenance
    from generation.pipeline.fingerprint import fingerprint
    from media import hashes as media_hashes
    from media.provenance_keys import signing_keys
    from tests import media

    # given: a video made here, its file signed by this service and kept in storage
    clip = media.make_clip(tmp_path / "clip.mp4", seconds=2, size="320x240")
    manifest = {
        "generated": True,
        "pipeline": {"name": "doubletake", "version": "1"},
        "backends": {},
        "request": {"prompt": "a kept prompt"},
        # as the pipeline binds it: C2PA's CBOR gives such a list of small numbers back as bytes
        "soft_binding": {"alg": "org.doubletake.fingerprint.test", "contrasts": [64, 63, 64]},
    }
    signed = provenance.sign(
        clip, tmp_path / "signed.mp4", manifest, keys=signing_keys(), backend=backend
    )
    names = {"file": default_storage.save("kept/video.mp4", ContentFile(signed.path.read_bytes()))}
    if signed.sidecar is not None:
        names["provenance"] = default_storage.save(
            "kept/video.provenance.json", ContentFile(signed.sidecar.read_bytes())
        )
    video = Video.objects.create(
        owner=owner,
        width=320,
        height=240,
        duration_s=2.0,
        manifest=manifest,
        provenance_backend=signed.backend,
        fingerprint=fingerprint(signed.path).to_json(),
        **names,
    )
    media_hashes.video_hashes_store(video, media_hashes.hashes_of_file(signed.path))
    # a re-encoded copy has lost the file's own manifest
    copy = tmp_path / "copy.mp4"
    media.ffmpeg("-i", str(signed.path), "-c:v", "libx264", "-crf", "30", str(copy))

    # when the owner looks the copy up
    found = _lookup(client_for(owner), copy)["credentials"]
    # then the kept manifest stands in, checked against the signed original
    assert found["source"] == "stored"
    assert (found["valid"], found["signature_valid"], found["trusted"]) == (True, True, True)

    # and a kept copy of the manifest that no longer matches what was signed is not valid
    Video.objects.filter(pk=video.pk).update(manifest={**manifest, "request": {"prompt": "x"}})
    changed = _lookup(client_for(owner), copy)["credentials"]
    assert changed["valid"] is False and changed["signature_valid"] is True

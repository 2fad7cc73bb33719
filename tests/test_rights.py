"""The rights-holder registry: holders manage their own marks and licenses, generation
requests naming a protected mark are refused with the holder named, and a protected logo drawn
into a video is found after re-encoding (the video is held for review)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import User
from config.screens import Point, Subject, Verdict, registered, screen
from jobs.models import Job
from rights.logos import features_unpack
from rights.models import Mark
from tests.media import ffmpeg, write_clip

Client = Callable[[User | None], APIClient]
SIZE = (480, 854)  # portrait, as the app renders (a smaller 720p)
FPS = 12


# --- Media built here -------------------------------------------------------------------------
def drawn_logo(word: str, seed: int) -> np.ndarray:
    """A logo-like BGR image: a frame, a few filled shapes and a word."""
    import cv2

    rng = np.random.default_rng(seed)
    image = np.full((300, 300, 3), 245, np.uint8)
    cv2.rectangle(image, (6, 6), (293, 293), (30, 30, 30), 8)
    for _ in range(4):
        colour = [int(v) for v in rng.integers(0, 200, 3)]
        centre = (int(rng.integers(50, 250)), int(rng.integers(50, 180)))
        if rng.random() < 0.5:
            cv2.circle(image, centre, int(rng.integers(20, 60)), colour, -1)
        else:
            points = rng.integers(20, 220, (3, 2)).astype(np.int32)
            cv2.fillPoly(image, [points], colour)
    cv2.putText(image, word, (24, 262), cv2.FONT_HERSHEY_DUPLEX, 2.0, (20, 20, 160), 4)
    return image


def background_frames(seconds: float) -> Iterator[np.ndarray]:
    """A slow pan over a photograph that skimage ships."""
    import cv2
    from skimage import data

    photo = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)
    base = cv2.resize(photo, (SIZE[1] * 3 // 2, SIZE[1]))
    for i in range(int(seconds * FPS)):
        x = 4 * i
        yield base[:, x : x + SIZE[0]].copy()


def with_logo(frames: Iterator[np.ndarray], logo: np.ndarray, width: float) -> Iterator:
    import cv2

    for i, frame in enumerate(frames):
        scale = width / logo.shape[1]
        matrix = cv2.getRotationMatrix2D((150, 150), 10.0, scale)
        matrix[:, 2] += np.array([SIZE[0] * 0.45 + i, SIZE[1] * 0.4]) - 150
        warped = cv2.warpAffine(logo, matrix, SIZE, flags=cv2.INTER_AREA, borderValue=(0, 0, 0))
        inside = cv2.warpAffine(np.full(logo.shape[:2], 255, np.uint8), matrix, SIZE) > 127
        frame[inside] = warped[inside]
        yield frame


def reencoded(tmp_path: Path, name: str, frames: Iterator[np.ndarray]) -> Path:
    """Written once at high quality, then re-encoded at CRF 30, as a re-upload would be."""
    first = write_clip(tmp_path / f"{name}-first.mp4", frames, size=SIZE, fps=FPS, seconds=2.0)
    second = tmp_path / f"{name}.mp4"
    ffmpeg("-i", str(first), "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", str(second))
    return second


def png_upload(client: APIClient, image: np.ndarray, tmp_path: Path) -> str:
    import cv2

    path = tmp_path / "logo.png"
    cv2.imwrite(str(path), image)
    file = SimpleUploadedFile("logo.png", path.read_bytes())
    response = client.post("/api/v1/uploads/", {"kind": "image", "file": file}, format="multipart")
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


# --- The registry -----------------------------------------------------------------------------
def register(client: APIClient, name: str = "Nova Studios") -> str:
    response = client.post(
        "/api/v1/rights/holders/",
        {"display_name": name, "contact": "legal@nova.example"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def add_mark(client: APIClient, holder_id: str, **fields: Any) -> dict[str, Any]:
    body = {"kind": "name", "policy": "blocked", **fields}
    response = client.post(f"/api/v1/rights/holders/{holder_id}/marks/", body, format="json")
    assert response.status_code == 201, response.content
    result: dict[str, Any] = response.json()
    return result


def requested(user: User, **texts: str) -> list[Verdict]:
    return [
        v
        for v in screen(Subject(point=Point.REQUEST, user=user, texts=texts))
        if v.check == "rights.marks"
    ]


def test_the_checks_are_registered_at_request_and_output() -> None:
    assert "rights.marks" in registered(Point.REQUEST)
    assert "rights.logos" in registered(Point.OUTPUT)


def test_a_holder_registers_and_manages_its_marks(owner: User, client_for: Client) -> None:
    # given a registered holder
    client = client_for(owner)
    holder_id = register(client)
    # when it adds a mark, lists its marks, changes one and deletes it
    mark = add_mark(client, holder_id, name="Zephyr", aliases=["Zéphyr Kid"], kind="character")
    listed = client.get(f"/api/v1/rights/holders/{holder_id}/marks/").json()
    changed = client.patch(
        f"/api/v1/rights/marks/{mark['id']}/", {"policy": "allowed"}, format="json"
    )
    deleted = client.delete(f"/api/v1/rights/marks/{mark['id']}/")
    # then each answers as the holder asked
    assert [m["name"] for m in listed["results"]] == ["Zephyr"]
    assert changed.json()["policy"] == "allowed"
    assert deleted.status_code == 204
    assert not Mark.objects.filter(id=mark["id"]).exists()
    assert client.get("/api/v1/rights/holders/").json()[0]["display_name"] == "Nova Studios"


def test_another_user_gets_404_for_a_holders_objects(
    owner: User, stranger: User, friend: User, client_for: Client
) -> None:
    # given the owner's holder, a licensed mark and a license for friend
    client = client_for(owner)
    holder_id = register(client)
    mark = add_mark(client, holder_id, name="Quark", policy="licensed")
    license = client.post(
        f"/api/v1/rights/marks/{mark['id']}/licenses/",
        {"licensee_username": friend.username},
        format="json",
    ).json()
    # when a stranger (or the licensee) tries each of them
    calls = []
    for other in (client_for(stranger), client_for(friend)):
        calls += [
            other.get(f"/api/v1/rights/holders/{holder_id}/"),
            other.patch(f"/api/v1/rights/holders/{holder_id}/", {"contact": "x@y.z"}),
            other.get(f"/api/v1/rights/holders/{holder_id}/marks/"),
            other.post(
                f"/api/v1/rights/holders/{holder_id}/marks/",
                {"kind": "name", "name": "Mine", "policy": "allowed"},
                format="json",
            ),
            other.get(f"/api/v1/rights/marks/{mark['id']}/"),
            other.delete(f"/api/v1/rights/marks/{mark['id']}/"),
            other.post(
                f"/api/v1/rights/marks/{mark['id']}/licenses/",
                {"licensee_username": stranger.username},
                format="json",
            ),
            other.delete(f"/api/v1/rights/licenses/{license['id']}/"),
        ]
    # then every call is a 404 and nothing changed
    assert [c.status_code for c in calls] == [404] * len(calls)
    assert Mark.objects.get(id=mark["id"]).licenses.filter(revoked_at__isnull=True).count() == 1
    assert client_for(stranger).get("/api/v1/rights/holders/").json() == []


def test_a_blocked_name_is_refused_naming_the_holder_and_the_mark(
    owner: User, stranger: User, client_for: Client
) -> None:
    # given a blocked name
    add_mark(client_for(owner), register(client_for(owner)), name="Café Nova")
    # when a request mentions it in another case, without its accent, in dialogue
    verdicts = requested(
        stranger, prompt="a sunny park", **{"shot[1].dialogue": "I love CAFE-nova!"}
    )
    # then it is refused with the holder, the mark and what to change
    (verdict,) = verdicts
    assert verdict.outcome == "refuse" and verdict.code == "protected_mark"
    assert "Nova Studios" in verdict.reason and "Café Nova" in verdict.reason
    assert "remove it" in verdict.reason
    assert verdict.detail["fields"] == ["shot[1].dialogue"]


def test_a_name_inside_another_word_or_an_unregistered_name_passes(
    owner: User, stranger: User, client_for: Client
) -> None:
    add_mark(client_for(owner), register(client_for(owner)), name="Nova")
    assert [v.outcome for v in requested(stranger, prompt="Supernova over Novalux city")] == [
        "pass"
    ]
    assert requested(stranger, prompt="Pixel the robot waves")[0].detail == {}


def test_a_licensed_mark_passes_for_a_licensee_and_is_refused_for_others(
    owner: User, friend: User, stranger: User, client_for: Client
) -> None:
    # given a licensed character, and friend licensed for it
    client = client_for(owner)
    mark = add_mark(
        client, register(client), name="Captain Orbit", kind="character", policy="licensed"
    )
    granted = client.post(
        f"/api/v1/rights/marks/{mark['id']}/licenses/",
        {"licensee_username": friend.username},
        format="json",
    )
    assert granted.status_code == 201
    # when each asks for it
    for_friend = requested(friend, prompt="Captain Orbit lands")
    for_stranger = requested(stranger, prompt="captain orbit lands")
    # then the licensee passes, the stranger is told to ask the holder for a license
    assert [v.outcome for v in for_friend] == ["pass"]
    assert for_stranger[0].outcome == "refuse"
    assert "ask Nova Studios for a license" in for_stranger[0].reason
    # and once revoked, the license no longer counts
    revoked = client.delete(f"/api/v1/rights/licenses/{granted.json()['id']}/")
    assert revoked.status_code == 204
    assert requested(friend, prompt="Captain Orbit lands")[0].outcome == "refuse"


def test_an_allowed_mark_passes_with_its_holder_in_the_detail(
    owner: User, stranger: User, client_for: Client
) -> None:
    add_mark(client_for(owner), register(client_for(owner)), name="Lumen", policy="allowed")
    (verdict,) = requested(stranger, prompt="a Lumen lamp")
    assert verdict.outcome == "pass" and verdict.detail["holder"] == "Nova Studios"


def test_only_a_licensed_mark_takes_licenses(owner: User, friend: User, client_for: Client) -> None:
    client = client_for(owner)
    mark = add_mark(client, register(client), name="Vertex")
    response = client.post(
        f"/api/v1/rights/marks/{mark['id']}/licenses/",
        {"licensee_username": friend.username},
        format="json",
    )
    assert response.status_code == 409 and response.json()["code"] == "mark_not_licensable"


def test_the_lookup_says_which_names_are_protected_for_the_caller(
    owner: User, stranger: User, client_for: Client
) -> None:
    add_mark(client_for(owner), register(client_for(owner)), name="Kraft")
    found = client_for(stranger).get("/api/v1/rights/lookup/", {"text": "a kraft box"}).json()
    assert [(f["outcome"], f["detail"]["mark"]) for f in found] == [("refuse", "Kraft")]


def test_a_logo_mark_needs_an_image_with_enough_detail(
    owner: User, client_for: Client, tmp_path: Path
) -> None:
    client = client_for(owner)
    holder_id = register(client)
    flat = png_upload(client, np.full((200, 200, 3), 90, np.uint8), tmp_path)
    response = client.post(
        f"/api/v1/rights/holders/{holder_id}/marks/",
        {"kind": "logo", "name": "Flat", "policy": "blocked", "logo_upload_id": flat},
        format="json",
    )
    assert response.status_code == 422 and response.json()["code"] == "logo_unusable"


# --- Logos in rendered output -----------------------------------------------------------------
@pytest.fixture
def protected_logo(owner: User, client_for: Client, tmp_path: Path) -> tuple[np.ndarray, str]:
    """A blocked logo registered through the API, from an image sent through media intake."""
    client = client_for(owner)
    logo = drawn_logo("ACME", seed=3)
    mark = add_mark(
        client,
        register(client),
        kind="logo",
        name="Acme logo",
        logo_upload_id=png_upload(client, logo, tmp_path),
    )
    return logo, str(mark["id"])


def outputs(user: User, path: Path) -> list[Verdict]:
    subject = Subject(point=Point.OUTPUT, user=user, path=path)
    return [v for v in screen(subject) if v.check == "rights.logos"]


@pytest.mark.slow
def test_a_protected_logo_drawn_into_a_video_is_caught_after_re_encoding(
    protected_logo: tuple[np.ndarray, str], stranger: User, tmp_path: Path
) -> None:
    # given the logo drawn into a clip at a fifth of the frame width, turned, re-encoded
    logo, mark_id = protected_logo
    video = reencoded(tmp_path, "logo", with_logo(background_frames(2.0), logo, SIZE[0] * 0.2))
    # when the output check looks at it
    (verdict,) = outputs(stranger, video)
    # then the video is held, naming the holder and where the logo is
    assert verdict.outcome == "hold" and verdict.code == "protected_logo"
    assert verdict.detail["mark_id"] == mark_id and verdict.detail["holder"] == "Nova Studios"
    assert verdict.detail["inliers"] >= 14
    xs = [x for x, _ in verdict.detail["box"]]
    assert SIZE[0] * 0.3 < sum(xs) / 4 < SIZE[0] * 0.65  # centred where it was drawn


@pytest.mark.slow
def test_a_clean_video_and_one_with_another_logo_pass(
    protected_logo: tuple[np.ndarray, str], stranger: User, tmp_path: Path
) -> None:
    # given the stored features are used as registered
    assert len(features_unpack(Mark.objects.get().logo_features).points) > 100
    clean = reencoded(tmp_path, "clean", background_frames(2.0))
    other = drawn_logo("ZEPHYR", seed=11)
    unrelated = reencoded(
        tmp_path, "other", with_logo(background_frames(2.0), other, SIZE[0] * 0.25)
    )
    assert [v.outcome for v in outputs(stranger, clean)] == ["pass"]
    assert [v.outcome for v in outputs(stranger, unrelated)] == ["pass"]


@pytest.mark.slow
def test_a_licensed_logo_passes_for_its_licensee(
    owner: User, friend: User, client_for: Client, tmp_path: Path
) -> None:
    # given a licensed logo, friend licensed
    client = client_for(owner)
    logo = drawn_logo("ACME", seed=3)
    mark = add_mark(
        client,
        register(client),
        kind="logo",
        name="Acme logo",
        policy="licensed",
        logo_upload_id=png_upload(client, logo, tmp_path),
    )
    client.post(
        f"/api/v1/rights/marks/{mark['id']}/licenses/",
        {"licensee_username": friend.username},
        format="json",
    )
    video = reencoded(tmp_path, "logo", with_logo(background_frames(2.0), logo, SIZE[0] * 0.2))
    assert [v.outcome for v in outputs(friend, video)] == ["pass"]
    assert [v.outcome for v in outputs(owner, video)] == ["hold"]  # the holder holds no license


# --- Through the real generation endpoint -----------------------------------------------------
def test_a_generation_request_naming_a_blocked_mark_is_refused_with_its_holder(
    owner: User, stranger: User, client_for: Client
) -> None:
    # given a blocked character
    add_mark(client_for(owner), register(client_for(owner)), name="Captain Orbit", kind="character")
    # when a stranger asks for a video of it
    prompt = 'Wide shot of a kitchen: captain orbit walks in. Close-up: he says "Ta-da!"'
    response = client_for(stranger).post("/api/v1/generations/", {"prompt": prompt}, format="json")
    # then it is refused before any job exists, naming the holder and what to change
    body = response.json()
    assert response.status_code == 422, body
    assert body["code"] == "protected_mark"
    assert "Nova Studios" in body["detail"] and "Captain Orbit" in body["detail"]
    assert not Job.objects.filter(owner=stranger).exists()
    # and without the name the same request goes ahead
    plain = client_for(stranger).post(
        "/api/v1/generations/", {"prompt": prompt.replace("captain orbit", "a chef")}, format="json"
    )
    assert plain.status_code == 202, plain.json()

"""The moderators' console: server-rendered staff pages. Rendered and worked through Django's
test client, and end to end in headless Chromium against the live server."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import User
from feeds import services as feed_services
from feeds.models import Post
from media.models import Video
from moderation import services
from moderation.models import Case, Decision, Report
from moderation.roles import MODERATOR, SENIOR_MODERATOR
from tests import media
from tests.browser import wait_until
from tests.factories import UserFactory


def _staff(username: str, role: str, password: str = "") -> User:
    user = UserFactory(username=username, is_staff=True)
    if password:
        user.set_password(password)
        user.save()
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


def _post(author: User, *, file: str = "", prompt: str = "a lighthouse at dusk") -> Post:
    video = Video.objects.create(
        owner=author,
        duration_s=3.0,
        file=file,
        prompt=prompt,
        storyboard={"shots": [{"action": "the lamp turns"}]},
        manifest={"generated": True, "pipeline": "test"},
    )
    return feed_services.post_publish(video=video, author=author, caption="", visibility="public")


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_console_is_for_moderators_only(owner: User) -> None:
    assert Client().get("/console/").status_code == 302  # to sign in
    assert "/admin/login/" in Client().get("/console/")["Location"]
    # staff without the moderator role, and a user, are refused
    staff = UserFactory(username="clerk", is_staff=True)
    assert _signed_in(staff).get("/console/").status_code == 403
    assert _signed_in(owner).get("/console/dashboard/").status_code == 403
    assert _signed_in(owner).post("/console/claim/").status_code == 403


def test_the_queue_filters_and_the_senior_queue_is_seniors_only(
    owner: User, friend: User, stranger: User
) -> None:
    spam = _post(owner, prompt="buy now")
    minor = _post(owner, prompt="a playground")
    services.report_file(reporter=friend, target_kind="post", target_id=str(spam.pk), reason="spam")
    services.report_file(
        reporter=stranger, target_kind="post", target_id=str(minor.pk), reason="minor_safety"
    )
    moderator = _signed_in(_staff("mod", MODERATOR))
    page = moderator.get("/console/").content.decode()
    assert f"post {spam.pk}" in page and f"post {minor.pk}" not in page
    senior = _signed_in(_staff("sen", SENIOR_MODERATOR))
    both = senior.get("/console/").content.decode()
    assert f"post {spam.pk}" in both and f"post {minor.pk}" in both
    only_minor = senior.get("/console/?reason=minor_safety").content.decode()
    assert f"post {spam.pk}" not in only_minor and f"post {minor.pk}" in only_minor
    assert f"post {spam.pk}" not in senior.get("/console/?min_severity=50").content.decode()
    assert f"post {spam.pk}" not in senior.get("/console/?older_than_hours=1").content.decode()
    # what does not parse is ignored, not a server error
    assert senior.get("/console/?min_severity=nan&older_than_hours=x&queue=zzz").status_code == 200
    # a senior case's page is not the junior moderator's to see
    minor_case = Case.objects.get(target_id=str(minor.pk))
    assert moderator.get(f"/console/cases/{minor_case.pk}/").status_code == 404


def test_a_case_page_shows_what_a_moderator_weighs_and_its_form_decides(
    owner: User, friend: User
) -> None:
    post = _post(owner, prompt="a lighthouse at dusk")
    report = services.report_file(
        reporter=friend, target_kind="post", target_id=str(post.pk), reason="violence"
    )
    Report.objects.create(
        case=report.case, reporter=None, check_name="faces.unknown", reason="impersonation"
    )
    client = _signed_in(_staff("mod", MODERATOR))
    claimed = client.post("/console/claim/")
    assert claimed["Location"] == f"/console/cases/{report.case_id}/"
    page = client.get(claimed["Location"]).content.decode()
    for seen in ("a lighthouse at dusk", "the lamp turns", "pipeline", "friend", "faces.unknown"):
        assert seen in page, seen
    assert f'src="/console/cases/{report.case_id}/video/"' in page
    # a decision without facts is refused with a message, nothing decided
    nothing = client.post(
        f"/console/cases/{report.case_id}/decide/", {"action": "take_down", "ground": "violence"}
    )
    assert nothing.status_code == 302
    assert not Decision.objects.exists()
    decided = client.post(
        f"/console/cases/{report.case_id}/decide/",
        {"action": "take_down", "ground": "violence", "facts": "A fight at 0:02."},
        follow=True,
    )
    assert "Decided: Take Down" in decided.content.decode()
    post.refresh_from_db()
    assert post.state == Post.State.TAKEN_DOWN
    decision = Decision.objects.get()
    assert decision.automated  # an automated check had reported it too
    # the dashboard counts it
    board = client.get("/console/dashboard/").content.decode()
    assert "take_down" in board and "Median time to a decision" in board


def test_a_case_claimed_by_one_moderator_cannot_be_decided_by_another(
    owner: User, friend: User
) -> None:
    post = _post(owner)
    case = services.report_file(
        reporter=friend, target_kind="post", target_id=str(post.pk), reason="spam"
    ).case
    first, second = _staff("first", MODERATOR), _staff("second", MODERATOR)
    assert services.case_claim(moderator=first) is not None
    other = _signed_in(second)
    page = other.get(f"/console/cases/{case.pk}/").content.decode()
    assert "Claim this case" in page and 'id="decide-form"' not in page
    refused = other.post(f"/console/cases/{case.pk}/claim/", follow=True)
    assert "Another moderator is working this case." in refused.content.decode()
    forced = other.post(
        f"/console/cases/{case.pk}/decide/",
        {"action": "dismiss", "ground": "no_violation", "facts": "x"},
        follow=True,
    )
    assert "case_not_claimed" in forced.content.decode()
    assert Case.objects.get(pk=case.pk).state == Case.State.OPEN


# --- In a real browser ----------------------------------------------------------------------
@pytest.fixture
def reported(service_env: dict[str, str], settings: Any) -> dict[str, Any]:
    """A reported post with a real clip in the live server's storage, and a moderator whose
    password the server can check (it keeps the real hasher; the tests use a fast one)."""
    from django.conf import global_settings

    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    root = Path(service_env["DOUBLETAKE_VAR_DIR"]) / "media" / "console-test"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    media.make_clip(root / "clip.mp4", seconds=2, size="180x320", source="testsrc2")
    author, reporter = UserFactory(username="author"), UserFactory(username="reporter")
    post = _post(author, file="console-test/clip.mp4", prompt="a stunt on a rooftop")
    services.report_file(
        reporter=reporter, target_kind="post", target_id=str(post.pk), reason="violence"
    )
    _staff("browsermod", MODERATOR, password="console-pass-1")
    return {"post": post}


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_moderator_signs_in_claims_watches_and_takes_down_in_chromium(
    live_url: str, reported: dict[str, Any], browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base = f"http://{live_url}"
    browser.get(f"{base}/console/")
    # sent to sign in, then back to the queue
    wait_until(lambda: browser.find_elements(By.ID, "id_username"), what="the login form")
    browser.find_element(By.ID, "id_username").send_keys("browsermod")
    browser.find_element(By.ID, "id_password").send_keys("console-pass-1")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_until(lambda: browser.find_elements(By.ID, "claim-next"), what="the queue")
    post = reported["post"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#cases tbody tr[data-case]")
    assert len(rows) == 1 and f"post {post.pk}" in rows[0].text
    browser.find_element(By.ID, "claim-next").click()
    wait_until(lambda: browser.find_elements(By.ID, "decide-form"), what="the case page")
    assert "a stunt on a rooftop" in browser.find_element(By.ID, "prompt").text
    # the video plays inline
    playing = (
        "const v = document.getElementById('case-video'); v.muted = true; v.play();"
        "return v.readyState >= 2 && v.videoWidth === 180;"
    )
    wait_until(lambda: browser.execute_script(playing), what="the case's video to load")
    Select(browser.find_element(By.ID, "d-action")).select_by_value("take_down")
    Select(browser.find_element(By.ID, "d-ground")).select_by_value("violence")
    browser.find_element(By.ID, "d-facts").send_keys("Dangerous stunt at 0:01.")
    browser.find_element(By.ID, "decide").click()
    wait_until(
        # the form posts and the page reloads: until it has, there is no message to read
        lambda: any(
            "Decided" in m.text for m in browser.find_elements(By.CSS_SELECTOR, ".messages")
        ),
        what="the decision's message",
    )
    assert Post.objects.get(pk=post.pk).state == Post.State.TAKEN_DOWN
    decision = Decision.objects.get()
    assert (decision.moderator.username, decision.facts) == (
        "browsermod",
        "Dangerous stunt at 0:01.",
    )
    # the dashboard shows the action, and the page's policy blocked nothing it needs
    browser.get(f"{base}/console/dashboard/")
    wait_until(lambda: browser.find_elements(By.ID, "per-day"), what="the dashboard")
    assert "take_down" in browser.find_element(By.ID, "per-day").text
    blocked = [
        e["message"]
        for e in browser.get_log("browser")
        if "Content Security Policy" in e["message"]
    ]
    assert blocked == []


# --- The admin beside it ------------------------------------------------------------------------
def test_every_admin_page_renders_and_posts_videos_and_cases_change_only_through_audit(
    owner: User, friend: User
) -> None:
    from django.contrib import admin
    from django.urls import reverse

    post = _post(owner)
    services.report_file(reporter=friend, target_kind="post", target_id=str(post.pk), reason="spam")
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    client = _signed_in(root)
    for model in admin.site._registry:
        meta = model._meta
        page = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert page.status_code == 200, meta.label
        assert b'value="delete_selected"' not in page.content, meta.label
    # a post, its video and a case are read here, and never deleted or edited from here
    for obj in (post, post.video, Case.objects.get()):
        meta = obj._meta
        delete = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403, meta.label
        change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        assert client.get(change).status_code == 200, meta.label
    assert Post.objects.filter(pk=post.pk, state=Post.State.LIVE).exists()
    assert b"in the console" in client.get("/admin/moderation/case/").content

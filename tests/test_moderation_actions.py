"""The rest of a moderator's actions: age restriction, revoking a double (senior only),
marking a bad-faith reporter, handing a case back, and a suspended account's appeal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts.models import User
from cameo.models import Cameo
from consent.models import Appearance
from feeds import services as feed_services
from feeds.models import Post
from media.models import Video
from moderation import services
from moderation.models import Case, Decision, Report
from moderation.roles import MODERATOR, SENIOR_MODERATOR
from tests.factories import UserFactory, make_verified_cameo

Client = Callable[[User | None], APIClient]


def _post(author: User, views: int = 0) -> Post:
    video = Video.objects.create(owner=author, duration_s=3.0)
    post = feed_services.post_publish(video=video, author=author, caption="", visibility="public")
    Post.objects.filter(pk=post.pk).update(view_count=views)
    return post


def _staff(username: str, role: str) -> User:
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


def _report(client: APIClient, kind: str, target: object, reason: str) -> int:
    body = {"target_kind": kind, "target_id": str(target), "reason": reason}
    response = client.post("/api/v1/reports/", body, format="json")
    assert response.status_code == 201, response.json()
    return int(response.json()["case"])


def _claim(client: APIClient) -> int:
    response = client.post("/api/v1/moderation/cases/claim/")
    assert response.status_code == 200, response.status_code
    return int(response.json()["id"])


def _decide(client: APIClient, case_id: int, action: str, ground: str, **extra: Any) -> Any:
    body = {"case_id": case_id, "action": action, "ground": ground, "facts": "Seen at 0:01."}
    return client.post("/api/v1/moderation/decisions/", {**body, **extra}, format="json")


# --- Age restriction ----------------------------------------------------------------------------
def test_age_restricting_a_post_keeps_it_up_and_a_restore_lifts_it(
    owner: User, friend: User, client_for: Client
) -> None:
    post = _post(owner)
    case_id = _report(client_for(friend), "post", post.pk, "violence")
    moderator = _staff("ager", MODERATOR)
    assert _claim(client_for(moderator)) == case_id
    response = _decide(client_for(moderator), case_id, "age_restrict", "violence")
    assert response.status_code == 201, response.json()
    post.refresh_from_db()
    assert (post.state, post.age_restricted) == (Post.State.LIVE, True)
    # the author is told, and may appeal... only takedowns and suspensions; a later case
    # on the post can lift the restriction
    note = client_for(owner).get("/api/v1/notifications/").json()["results"][0]
    assert note["payload"]["decision"] == "age_restrict"
    second = Case.objects.create(target_kind="post", target_id=str(post.pk), report_count=1)
    assert _claim(client_for(moderator)) == second.pk
    assert _decide(client_for(moderator), second.pk, "restore", "other").status_code == 201
    post.refresh_from_db()
    assert post.age_restricted is False


# --- Revoking a double ------------------------------------------------------------------------
def _post_casting(author: User, cameo: Any) -> Post:
    post = _post(author)
    Appearance.objects.create(cameo=cameo, used_by=author, video_id=post.video_id, receipt={})
    return post


def test_revoking_a_cameo_is_for_senior_moderators_and_takes_its_videos_down(
    owner: User, friend: User, stranger: User, client_for: Client
) -> None:
    # a double that is really someone else's face, cast in a post
    cameo = make_verified_cameo(owner, audience="everyone")
    post = _post_casting(owner, cameo)
    case_id = _report(client_for(friend), "post", post.pk, "impersonation")
    junior = _staff("junior", MODERATOR)
    assert _claim(client_for(junior)) == case_id
    refused = _decide(
        client_for(junior), case_id, "revoke_cameo", "impersonation", cameo_id=str(cameo.pk)
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "senior_moderator_only")
    assert Cameo.objects.get(pk=cameo.pk).state != Cameo.State.REVOKED
    services.case_release(case=Case.objects.get(pk=case_id), moderator=junior)
    senior = _staff("senior", SENIOR_MODERATOR)
    assert _claim(client_for(senior)) == case_id
    # a cameo not in the post cannot be revoked from this case
    other = make_verified_cameo(stranger)
    wrong = _decide(
        client_for(senior), case_id, "revoke_cameo", "impersonation", cameo_id=str(other.pk)
    )
    assert (wrong.status_code, wrong.json()["code"]) == (400, "cameo_not_in_case")
    done = _decide(
        client_for(senior), case_id, "revoke_cameo", "impersonation", cameo_id=str(cameo.pk)
    )
    assert done.status_code == 201, done.json()
    assert Cameo.objects.get(pk=cameo.pk).state == Cameo.State.REVOKED
    post.refresh_from_db()
    assert post.state == Post.State.TAKEN_DOWN
    assert Cameo.objects.get(pk=other.pk).state != Cameo.State.REVOKED


# --- Bad-faith reporters --------------------------------------------------------------------
def test_a_bad_faith_reporters_reports_sink_below_everyone_elses(
    owner: User, friend: User, stranger: User, client_for: Client
) -> None:
    # a reporter who files harassment on everything, and an honest spam report
    troll = UserFactory(username="troll")
    trolled = _post(owner)
    spam = _post(friend)
    trolled_case = _report(client_for(troll), "post", trolled.pk, "harassment")
    spam_case = _report(client_for(stranger), "post", spam.pk, "spam")
    assert Case.objects.get(pk=trolled_case).severity > Case.objects.get(pk=spam_case).severity
    # when a moderator marks the troll
    moderator = _staff("marker", MODERATOR)
    body = {"username": "troll", "bad_faith": True, "reason": "Forty false reports in a day."}
    marked = client_for(moderator).post("/api/v1/moderation/reporters/", body, format="json")
    assert marked.status_code == 200, marked.json()
    assert marked.json()["marked_by"] == "marker"
    # the open case sinks at once, and so does the next one they open
    assert Case.objects.get(pk=trolled_case).severity < Case.objects.get(pk=spam_case).severity
    later = _report(client_for(troll), "post", _post(stranger).pk, "harassment")
    assert Report.objects.get(case_id=later).weight < 1
    assert _claim(client_for(moderator)) == spam_case
    # a non-moderator cannot mark anyone
    denied = client_for(friend).post("/api/v1/moderation/reporters/", body, format="json")
    assert denied.status_code == 403
    # clearing the mark restores the weight
    body["bad_faith"] = False
    client_for(moderator).post("/api/v1/moderation/reporters/", body, format="json")
    assert Report.objects.get(case_id=later).weight == 1


# --- Handing a case back ----------------------------------------------------------------------
def test_a_released_case_goes_back_to_the_queue_for_anyone(
    owner: User, friend: User, client_for: Client
) -> None:
    case_id = _report(client_for(friend), "post", _post(owner).pk, "spam")
    first, second = _staff("first", MODERATOR), _staff("second", MODERATOR)
    assert _claim(client_for(first)) == case_id
    assert client_for(second).post("/api/v1/moderation/cases/claim/").status_code == 204
    not_mine = client_for(second).post(f"/api/v1/moderation/cases/{case_id}/release/")
    assert (not_mine.status_code, not_mine.json()["code"]) == (409, "case_not_claimed")
    released = client_for(first).post(f"/api/v1/moderation/cases/{case_id}/release/")
    assert released.status_code == 200
    assert released.json()["claimed_by"] is None
    assert _claim(client_for(second)) == case_id


# --- A suspended account's appeal -----------------------------------------------------------
def test_a_suspended_user_appeals_with_their_password_and_another_moderator_reinstates(
    owner: User, friend: User, client_for: Client
) -> None:
    owner.set_password("correct horse battery")
    owner.save()
    case_id = _report(client_for(friend), "user", owner.username, "harassment")
    first = _staff("suspender", MODERATOR)
    assert _claim(client_for(first)) == case_id
    assert _decide(client_for(first), case_id, "suspend", "harassment").status_code == 201
    anonymous = client_for(None)
    body = {"username": "owner", "password": "wrong", "text": "Not me."}
    wrong = anonymous.post("/api/v1/appeals/suspension/", body, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    body["password"] = "correct horse battery"
    appealed = anonymous.post("/api/v1/appeals/suspension/", body, format="json")
    assert appealed.status_code == 201, appealed.json()
    again = anonymous.post("/api/v1/appeals/suspension/", body, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "appeal_exists")
    appeal = appealed.json()["case"]
    # the moderator who suspended never gets the appeal; another one reinstates
    assert client_for(first).post("/api/v1/moderation/cases/claim/").status_code == 204
    second = _staff("reviewer", MODERATOR)
    assert _claim(client_for(second)) == appeal
    assert _decide(client_for(second), appeal, "restore", "").status_code == 201
    assert User.objects.get(pk=owner.pk).is_active
    # an active account appeals signed in, not with its password
    active = anonymous.post("/api/v1/appeals/suspension/", body, format="json")
    assert active.status_code == 401


# --- Automated detection in the statement ----------------------------------------------------
def test_a_case_an_automated_check_opened_says_so_in_the_statement(
    owner: User, client_for: Client
) -> None:
    post = _post(owner)
    case = Case.objects.create(
        target_kind="post", target_id=str(post.pk), report_count=1, reasons=["ip_infringement"]
    )
    Report.objects.create(
        case=case, reporter=None, check_name="rights.logo", reason="ip_infringement"
    )
    moderator = _staff("auto", MODERATOR)
    assert _claim(client_for(moderator)) == case.pk
    response = _decide(client_for(moderator), case.pk, "take_down", "ip_infringement")
    assert response.status_code == 201, response.json()
    assert response.json()["statement"]["automated_detection"] is True
    assert response.json()["statement"]["automated_decision"] is False
    assert Decision.objects.get(pk=response.json()["id"]).automated


def test_reporters_hear_the_outcome_of_their_report(
    owner: User, friend: User, stranger: User, client_for: Client
) -> None:
    post = _post(owner)
    case_id = _report(client_for(friend), "post", post.pk, "spam")
    _report(client_for(stranger), "post", post.pk, "spam")
    moderator = _staff("teller", MODERATOR)
    assert _claim(client_for(moderator)) == case_id
    assert _decide(client_for(moderator), case_id, "dismiss", "no_violation").status_code == 201
    for reporter in (friend, stranger):
        notes = client_for(reporter).get("/api/v1/notifications/").json()["results"]
        outcome = [n for n in notes if n["kind"] == "report_outcome"]
        assert [n["payload"]["decision"] for n in outcome] == ["dismiss"]
        assert outcome[0]["payload"]["target"] == {"kind": "post", "id": str(post.pk)}
    # the author of a dismissed report's target is not bothered
    assert client_for(owner).get("/api/v1/notifications/").json()["results"] == []


def test_the_routing_rule_is_configurable(
    owner: User, friend: User, client_for: Client, settings: Any
) -> None:
    settings.MODERATION_SENIOR_REASONS = ["minor_safety", "intimate_imagery"]
    case_id = _report(client_for(friend), "post", _post(owner).pk, "intimate_imagery")
    assert Case.objects.get(pk=case_id).queue == Case.Queue.SENIOR
    assert (
        client_for(_staff("plain", MODERATOR)).post("/api/v1/moderation/cases/claim/").status_code
        == 204
    )
    assert _claim(client_for(_staff("elder", SENIOR_MODERATOR))) == case_id

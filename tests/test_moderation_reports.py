"""Reports and the review queue: reports group into cases, the queue orders and routes them,
and a claim hands each case to one moderator at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from feeds import services as feed_services
from feeds.models import Post, Takedown
from media.models import Video
from moderation import services
from moderation.models import Case
from moderation.roles import MODERATOR, SENIOR_MODERATOR
from tests.factories import UserFactory

Client = Callable[[User], APIClient]


def _post(author: User, visibility: str = "public", views: int = 0) -> Post:
    video = Video.objects.create(owner=author, duration_s=3.0)
    post = feed_services.post_publish(video=video, author=author, caption="", visibility=visibility)
    Post.objects.filter(pk=post.pk).update(view_count=views)
    return post


def _staff(username: str, role: str) -> User:
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh, so its permission cache is empty


def _report(client: APIClient, kind: str, target: object, reason: str) -> dict:
    body = {"target_kind": kind, "target_id": str(target), "reason": reason}
    response = client.post("/api/v1/reports/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_reports_on_one_post_group_into_one_case_that_grows_more_severe(
    owner: User, friend: User, stranger: User, client_for: Client
) -> None:
    post = _post(owner, views=1000)
    first = _report(client_for(friend), "post", post.pk, "spam")
    second = _report(client_for(stranger), "post", post.pk, "harassment")
    assert first["case"] == second["case"]
    case = Case.objects.get(pk=first["case"])
    assert (case.report_count, case.reasons) == (2, ["harassment", "spam"])
    assert case.severity > services.severity(["harassment"], 1, 1000)
    # the same reporter again changes nothing
    again = _report(client_for(friend), "post", post.pk, "violence")
    assert again["id"] == first["id"]
    assert Case.objects.get(pk=case.pk).report_count == 2


def test_what_a_reporter_cannot_see_cannot_be_reported(
    owner: User, stranger: User, client_for: Client
) -> None:
    hidden = _post(owner, visibility="private")
    body = {"target_kind": "post", "target_id": str(hidden.pk), "reason": "spam"}
    response = client_for(stranger).post("/api/v1/reports/", body, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert not Case.objects.exists()


def test_users_and_comments_can_be_reported_too(
    owner: User, friend: User, client_for: Client
) -> None:
    post = _post(owner)
    comment = feed_services.post_comment(post=post, user=owner, body="hello")
    on_user = _report(client_for(friend), "user", owner.username, "impersonation")
    on_comment = _report(client_for(friend), "comment", comment.pk, "harassment")
    assert on_user["case"] != on_comment["case"]
    assert Case.objects.get(pk=on_user["case"]).target_id == str(owner.pk)


def test_the_queue_puts_the_worst_first_and_minor_safety_only_before_seniors(
    owner: User, friend: User, client_for: Client
) -> None:
    spam, abuse, minors = _post(owner), _post(owner), _post(owner)
    _report(client_for(friend), "post", spam.pk, "spam")
    _report(client_for(friend), "post", abuse.pk, "intimate_imagery")
    _report(client_for(friend), "post", minors.pk, "minor_safety")
    moderator = _staff("mod", MODERATOR)
    senior = _staff("senior", SENIOR_MODERATOR)
    seen = client_for(moderator).get("/api/v1/moderation/cases/").json()["results"]
    assert [c["target_id"] for c in seen] == [str(abuse.pk), str(spam.pk)]
    seen = client_for(senior).get("/api/v1/moderation/cases/").json()["results"]
    assert [c["target_id"] for c in seen] == [str(minors.pk), str(abuse.pk), str(spam.pk)]
    assert seen[0]["queue"] == "senior"


def test_a_user_who_is_not_a_moderator_cannot_see_or_claim_the_queue(
    owner: User, moderator: User, client_for: Client
) -> None:
    # `moderator` is staff without the moderation role: staff alone is not enough
    for user in (owner, moderator):
        assert client_for(user).get("/api/v1/moderation/cases/").status_code == 403
        assert client_for(user).post("/api/v1/moderation/cases/claim/").status_code == 403


def test_a_claim_hands_a_case_to_one_moderator_and_a_lapsed_claim_returns_it(
    owner: User, friend: User, client_for: Client
) -> None:
    post = _post(owner)
    _report(client_for(friend), "post", post.pk, "violence")
    first, second = _staff("mod1", MODERATOR), _staff("mod2", MODERATOR)
    claimed = client_for(first).post("/api/v1/moderation/cases/claim/")
    assert (claimed.status_code, claimed.json()["claimed_by"]) == (200, "mod1")
    assert client_for(second).post("/api/v1/moderation/cases/claim/").status_code == 204
    # an abandoned claim: once its lease lapses the case is back in the queue
    later = timezone.now() + services.CLAIM_LEASE + timedelta(seconds=1)
    taken = services.case_claim(moderator=second, now=later)
    assert taken is not None and taken.claimed_by == second


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_moderators_claiming_at_once_never_get_the_same_case() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL")
    author, reporter = UserFactory(username="author"), UserFactory(username="reporter")
    for _ in range(3):
        services.report_file(
            reporter=reporter, target_kind="post", target_id=str(_post(author).pk), reason="spam"
        )
    moderators = [_staff(f"m{i}", MODERATOR) for i in range(6)]
    claims: list[int | None] = []
    barrier = threading.Barrier(len(moderators))

    def claim(moderator: User) -> None:
        barrier.wait()
        try:
            case = services.case_claim(moderator=moderator)
            claims.append(case.pk if case else None)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(m,)) for m in moderators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [c for c in claims if c is not None]
    assert len(won) == 3 and len(set(won)) == 3  # each case once, and no more than there are


# --- Decisions ---------------------------------------------------------------------------------
def _claimed_case(client_for: Client, reporter: User, post: Post, reason: str) -> tuple[int, User]:
    case_id = _report(client_for(reporter), "post", post.pk, reason)["case"]
    moderator = _staff("decider", MODERATOR)
    assert client_for(moderator).post("/api/v1/moderation/cases/claim/").json()["id"] == case_id
    return case_id, moderator


def _decide(client: APIClient, case_id: int, action: str, ground: str = "violence") -> Any:
    body = {"case_id": case_id, "action": action, "ground": ground, "facts": "Shown at 0:02."}
    return client.post("/api/v1/moderation/decisions/", body, format="json")


def test_a_takedown_decision_is_audited_and_the_author_gets_a_statement_of_reasons(
    owner: User, friend: User, client_for: Client
) -> None:
    post = _post(owner)
    case_id, moderator = _claimed_case(client_for, friend, post, "violence")
    response = _decide(client_for(moderator), case_id, "take_down")
    assert response.status_code == 201, response.json()
    post.refresh_from_db()
    assert post.state == Post.State.TAKEN_DOWN
    record = Takedown.objects.get(post=post)
    assert (record.actor, record.reason) == (moderator, "moderation:violence")
    assert Case.objects.get(pk=case_id).state == Case.State.DECIDED
    # the author is told what, why, on which facts, whether automated, and how to appeal
    notes = client_for(owner).get("/api/v1/notifications/").json()["results"]
    statement = notes[0]["payload"]
    assert notes[0]["kind"] == "moderation_decision"
    assert (statement["decision"], statement["ground"]) == ("take_down", "violence")
    assert statement["facts"] == "Shown at 0:02."
    assert statement["automated_decision"] is False and "appeal" in statement["how_to_appeal"]
    # the reporter hears the outcome, and nothing of the statement meant for the author
    told = client_for(friend).get("/api/v1/notifications/").json()["results"]
    assert [n["kind"] for n in told] == ["report_outcome"]
    assert "facts" not in told[0]["payload"] and "ground" not in told[0]["payload"]


def test_a_case_must_be_claimed_by_the_deciding_moderator(
    owner: User, friend: User, client_for: Client
) -> None:
    post = _post(owner)
    case_id, _ = _claimed_case(client_for, friend, post, "spam")
    other = _staff("other", MODERATOR)
    response = _decide(client_for(other), case_id, "take_down", "spam")
    assert (response.status_code, response.json()["code"]) == (409, "case_not_claimed")
    post.refresh_from_db()
    assert post.state == Post.State.LIVE


def test_a_restore_decision_puts_a_taken_down_post_back(
    owner: User, friend: User, client_for: Client
) -> None:
    post = _post(owner)
    feed_services.post_take_down(post=post, actor=owner, reason="author")
    # the author may still see it is down; a moderator restores it from a case on the post
    case = Case.objects.create(target_kind="post", target_id=str(post.pk), report_count=1)
    moderator = _staff("restorer", MODERATOR)
    assert services.case_claim(moderator=moderator) is not None
    response = _decide(client_for(moderator), case.pk, "restore", "other")
    assert response.status_code == 201, response.json()
    post.refresh_from_db()
    assert post.state == Post.State.LIVE
    assert Takedown.objects.get(post=post).restored_by == moderator
    assert client_for(friend).get(f"/api/v1/posts/{post.pk}/").status_code == 200


def test_suspending_a_user_stops_their_tokens_at_once(
    owner: User, friend: User, client_for: Client
) -> None:
    case_id = _report(client_for(friend), "user", owner.username, "harassment")["case"]
    moderator = _staff("suspender", MODERATOR)
    client_for(moderator).post("/api/v1/moderation/cases/claim/")
    owners_client = client_for(owner)
    assert owners_client.get("/api/v1/auth/me/").status_code == 200
    response = _decide(client_for(moderator), case_id, "suspend", "harassment")
    assert response.status_code == 201, response.json()
    assert owners_client.get("/api/v1/auth/me/").status_code == 401
    assert not User.objects.get(pk=owner.pk).is_active


def test_an_action_that_does_not_fit_the_target_is_refused(
    owner: User, friend: User, client_for: Client
) -> None:
    post = _post(owner)
    comment = feed_services.post_comment(post=post, user=owner, body="hi")
    case_id = _report(client_for(friend), "comment", comment.pk, "spam")["case"]
    moderator = _staff("picky", MODERATOR)
    client_for(moderator).post("/api/v1/moderation/cases/claim/")
    response = _decide(client_for(moderator), case_id, "suspend", "spam")
    assert (response.status_code, response.json()["code"]) == (400, "action_not_applicable")


# --- Appeals -----------------------------------------------------------------------------------
def test_an_appeal_goes_to_another_moderator_who_may_reverse_the_takedown(
    owner: User, friend: User, client_for: Client
) -> None:
    # given a post taken down by one moderator
    post = _post(owner)
    case_id, first = _claimed_case(client_for, friend, post, "violence")
    assert _decide(client_for(first), case_id, "take_down").status_code == 201
    note = client_for(owner).get("/api/v1/notifications/").json()["results"][0]
    # when the author appeals, once
    body = {"decision_id": note["payload"]["decision_id"], "text": "It was a stunt."}
    appealed = client_for(owner).post("/api/v1/appeals/", body, format="json")
    assert appealed.status_code == 201, appealed.json()
    again = client_for(owner).post("/api/v1/appeals/", body, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "appeal_exists")
    # then the moderator who decided never gets it, and another one reverses it
    assert client_for(first).post("/api/v1/moderation/cases/claim/").status_code == 204
    second = _staff("appeals", MODERATOR)
    claimed = client_for(second).post("/api/v1/moderation/cases/claim/").json()
    assert claimed["id"] == appealed.json()["case"] and claimed["target_kind"] == "appeal"
    reversed_ = _decide(client_for(second), claimed["id"], "restore", "")
    assert reversed_.status_code == 201, reversed_.json()
    post.refresh_from_db()
    assert post.state == Post.State.LIVE
    answers = client_for(owner).get("/api/v1/notifications/").json()["results"]
    assert answers[0]["payload"]["decision"] == "restore"


def test_only_the_person_a_decision_is_about_can_appeal_it(
    owner: User, friend: User, stranger: User, client_for: Client
) -> None:
    post = _post(owner)
    case_id, moderator = _claimed_case(client_for, friend, post, "spam")
    decision = _decide(client_for(moderator), case_id, "take_down", "spam").json()
    body = {"decision_id": decision["id"]}
    response = client_for(stranger).post("/api/v1/appeals/", body, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")

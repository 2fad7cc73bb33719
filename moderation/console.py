"""The moderators' console: server-rendered staff pages over the same services the API uses.

Signed in through the admin's login (a session, CSRF on every form). Every view asks for a
moderator (staff with the moderation permission), and every action goes through
`moderation.services` / `moderation.decisions`, so the console can do nothing the API
cannot, and records the same decisions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from config.errors import ApplicationError, NotFoundError
from moderation import selectors, services
from moderation.decisions import APPLICABLE, NO_VIOLATION, case_decide
from moderation.models import Case, Decision, Reason

View = Callable[..., HttpResponseBase]


def moderator_required(view: View) -> View:
    """Staff with the moderation permission; others are sent to sign in (or refused)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url="/admin/login/")
        if not (user.is_staff and user.has_perm("moderation.view_case")):
            return render(request, "moderation/console/denied.html", status=403)
        try:
            return view(request, *args, **kwargs)
        except NotFoundError as missing:
            context = {"message": missing.message}
            return render(request, "moderation/console/missing.html", context, status=404)

    return wrapped


def _me(request: HttpRequest) -> User:
    return cast(User, request.user)  # moderator_required let only a signed-in moderator in


@require_GET
@moderator_required
def queue(request: HttpRequest) -> HttpResponse:
    filters = selectors.QueueFilters.from_query(request.GET)
    cases = selectors.console_queue(moderator=_me(request), filters=filters)
    return render(
        request,
        "moderation/console/queue.html",
        {
            "cases": cases,
            "filters": filters,
            "queues": services.queues_for(_me(request)),
            "reasons": Reason.choices,
        },
    )


@require_POST
@moderator_required
def claim(request: HttpRequest) -> HttpResponse:
    case = services.case_claim(moderator=_me(request))
    if case is None:
        messages.info(request, "The queue is empty: nothing to claim.")
        return redirect("console-queue")
    return redirect("console-case", case_id=case.pk)


@require_GET
@moderator_required
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.console_case(moderator=_me(request), case_id=case_id)
    context = selectors.case_context(case)
    target = Case.Target(case.target_kind)
    actions = [(a.value, a.label) for a in Decision.Action if a in APPLICABLE[target]]
    mine = case.claimed_by_id == request.user.pk
    return render(
        request,
        "moderation/console/case.html",
        {
            **context,
            "case": case,
            "mine": mine,
            "actions": actions,
            "grounds": [(NO_VIOLATION, "no violation"), *Reason.choices],
        },
    )


@require_POST
@moderator_required
def case_claim(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.console_case(moderator=_me(request), case_id=case_id)
    if services.case_claim_one(case=case, moderator=_me(request)) is None:
        messages.error(request, "Another moderator is working this case.")
    return redirect("console-case", case_id=case_id)


@require_POST
@moderator_required
def case_release(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.console_case(moderator=_me(request), case_id=case_id)
    try:
        services.case_release(case=case, moderator=_me(request))
    except ApplicationError as refused:
        messages.error(request, refused.message)
    return redirect("console-queue")


@require_POST
@moderator_required
def case_decide_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.console_case(moderator=_me(request), case_id=case_id)
    form = request.POST
    facts = form.get("facts", "").strip()
    if not facts:
        messages.error(request, "Write down the facts you relied on.")
        return redirect("console-case", case_id=case_id)
    try:
        decision = case_decide(
            case=case,
            moderator=_me(request),
            action=form.get("action", ""),
            ground=form.get("ground", "") or NO_VIOLATION,
            facts=facts[:4000],
            cameo_id=form.get("cameo_id") or None,
        )
    except ApplicationError as refused:
        messages.error(request, f"{refused.message} ({refused.code})")
        return redirect("console-case", case_id=case_id)
    messages.success(request, f"Decided: {decision.get_action_display()} (decision {decision.pk}).")
    return redirect("console-queue")


@require_GET
@moderator_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "moderation/console/dashboard.html", selectors.dashboard_figures())


@require_GET
@moderator_required
def video(request: HttpRequest, case_id: int) -> HttpResponseBase:
    """The case's video for a moderator, whatever its state: a taken-down video no longer
    plays anywhere else, and an appeal needs it seen."""
    case = selectors.console_case(moderator=_me(request), case_id=case_id)
    post = selectors.case_context(case).get("post")
    name = post.video.file if post is not None else ""
    if not name or not default_storage.exists(name):
        raise NotFoundError("This case has no video.")
    response = FileResponse(default_storage.open(name, "rb"), content_type="video/mp4")
    response["Cache-Control"] = "private, no-store"
    return response

"""Reads on the review queue."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from config.errors import NotFoundError
from moderation.models import Case
from moderation.services import queues_for


def cases_open(*, moderator: User) -> QuerySet[Case]:
    return Case.objects.filter(
        state=Case.State.OPEN, queue__in=queues_for(moderator)
    ).select_related("claimed_by")


def access_case(*, moderator: User, case_id: Any) -> Case:
    """A case in one of the moderator's queues; any other looks like a missing one."""
    case = cases_open(moderator=moderator).filter(pk=case_id).first()
    if case is None:
        raise NotFoundError("No such case.")
    return case

"""Reads on the review queue."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from moderation.models import Case
from moderation.services import queues_for


def cases_open(*, moderator: User) -> QuerySet[Case]:
    return Case.objects.filter(
        state=Case.State.OPEN, queue__in=queues_for(moderator)
    ).select_related("claimed_by")

"""Reads on the consent ledger."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from consent.models import ConsentEvent


def audit_for_subject(*, user: User) -> QuerySet[ConsentEvent]:
    """Every decision about the user's likeness and every use of it, newest first."""
    return ConsentEvent.objects.filter(subject=user).select_related("actor")

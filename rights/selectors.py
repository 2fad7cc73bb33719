"""Reads on the registry: a holder's own objects (404 for anyone else's), and what protects."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from config.api import owned_or_404, parse_uuid
from config.errors import NotFoundError
from rights.models import License, Mark, RightsHolder


def holders_of(*, user: User) -> QuerySet[RightsHolder]:
    return RightsHolder.objects.filter(owner=user).order_by("created_at")


def access_holder(*, user: User, holder_id: Any) -> RightsHolder:
    holder: RightsHolder = owned_or_404(
        RightsHolder.objects.all(), user=user, object_id=holder_id, what="rights holder"
    )
    return holder


def access_mark(*, user: User, mark_id: Any) -> Mark:
    """A mark of a holder the user owns; anyone else's looks like a missing one."""
    mark_uuid = parse_uuid(mark_id)
    found = (
        Mark.objects.select_related("holder").filter(id=mark_uuid, holder__owner=user).first()
        if mark_uuid
        else None
    )
    if found is None:
        raise NotFoundError("No such mark.")
    return found


def access_license(*, user: User, license_id: Any) -> License:
    try:
        pk = int(license_id)
    except (TypeError, ValueError):
        pk = None
    found = (
        License.objects.select_related("mark__holder", "licensee")
        .filter(pk=pk, mark__holder__owner=user)
        .first()
        if pk
        else None
    )
    if found is None:
        raise NotFoundError("No such license.")
    return found


def marks_of(*, holder: RightsHolder) -> QuerySet[Mark]:
    return holder.marks.order_by("created_at")


def licenses_of(*, mark: Mark) -> QuerySet[License]:
    return mark.licenses.filter(revoked_at__isnull=True).select_related("licensee")


def licensed_mark_ids(*, user: Any) -> set[Any]:
    """The marks this user holds an active license for (none for no user)."""
    if user is None or not getattr(user, "pk", None):
        return set()
    return set(
        License.objects.filter(licensee_id=user.pk, revoked_at__isnull=True).values_list(
            "mark_id", flat=True
        )
    )


def text_marks() -> QuerySet[Mark]:
    """Every mark matched in text: names and characters, whatever their policy."""
    return Mark.objects.exclude(kind=Mark.Kind.LOGO).select_related("holder")


def logo_marks_for(*, user: Any) -> list[Mark]:
    """The logos an output by `user` must not show without review: every registered logo but
    those allowed for everyone, and those licensed to the user."""
    licensed = licensed_mark_ids(user=user)
    marks = (
        Mark.objects.filter(kind=Mark.Kind.LOGO, logo_features__isnull=False)
        .exclude(policy=Mark.Policy.ALLOWED)
        .select_related("holder")
    )
    return [m for m in marks if not (m.policy == Mark.Policy.LICENSED and m.id in licensed)]

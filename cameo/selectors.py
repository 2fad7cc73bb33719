"""Reads, and the access_* helpers: fetch an object only for a caller who may see it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import User, are_mutuals
from cameo.models import Cameo, Capture
from config.api import owned_or_404, parse_uuid
from config.errors import NotFoundError
from consent.models import Appearance, Grant


def access_capture(*, user: User, capture_id: Any) -> Capture:
    return owned_or_404(Capture.objects.all(), user=user, object_id=capture_id, what="capture")


def _visible_to(cameo: Cameo, user: User) -> bool:
    """Others see a double's public card (never its biometrics) when they could ask to use it."""
    if cameo.owner_id == user.pk:
        return True
    if not cameo.is_active or cameo.audience == Cameo.Audience.ONLY_ME:
        return Grant.objects.filter(cameo=cameo, grantee=user).exists()
    if cameo.audience == Cameo.Audience.MUTUALS:
        return (
            are_mutuals(cameo.owner_id, user.pk)
            or Grant.objects.filter(cameo=cameo, grantee=user).exists()
        )
    return True


def access_cameo(*, user: User, cameo_id: Any, owner_only: bool = False) -> Cameo:
    cameo_uuid = parse_uuid(cameo_id)
    cameo = (
        Cameo.objects.select_related("owner").filter(id=cameo_uuid).first() if cameo_uuid else None
    )
    if cameo is None or (owner_only and cameo.owner_id != user.pk) or not _visible_to(cameo, user):
        raise NotFoundError("No such cameo.")
    return cameo


def access_grant(*, cameo: Cameo, grant_id: Any) -> Grant:
    grant = Grant.objects.filter(cameo=cameo, pk=grant_id).select_related("grantee").first()
    if grant is None:
        raise NotFoundError("No such request.")
    return grant


def access_appearance(*, cameo: Cameo, appearance_id: Any) -> Appearance:
    appearance = Appearance.objects.filter(cameo=cameo, pk=appearance_id).first()
    if appearance is None:
        raise NotFoundError("No such appearance.")
    return appearance


def cameos_for_owner(*, user: User) -> QuerySet[Cameo]:
    return Cameo.objects.filter(owner=user).order_by("-created_at")


def appearances_for_cameo(*, cameo: Cameo) -> QuerySet[Appearance]:
    return Appearance.objects.filter(cameo=cameo).select_related("used_by", "video", "job")

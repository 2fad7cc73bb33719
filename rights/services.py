"""Writes on the registry: register a holder, add and remove marks, grant and revoke licenses."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.errors import ApplicationError
from media.models import Upload
from media.selectors import access_image
from media.storage import local_copy
from rights.logos import LogoError, features_pack, logo_features_from_file
from rights.models import License, Mark, RightsHolder
from rights.terms import terms_of

MAX_ALIASES = 20


def holder_register(*, owner: User, display_name: str, contact: str) -> RightsHolder:
    return RightsHolder.objects.create(owner=owner, display_name=display_name, contact=contact)


def holder_update(*, holder: RightsHolder, **fields: Any) -> RightsHolder:
    for name, value in fields.items():
        setattr(holder, name, value)
    holder.save(update_fields=list(fields))
    return holder


def _logo_features(owner: User, upload_id: Any) -> tuple[Upload, bytes]:
    """The logo's features, from an image the owner uploaded through media intake."""
    upload = access_image(user=owner, upload_id=upload_id, field="logo_upload_id", what="logo")
    try:
        with local_copy(upload.file.name, suffix=f".{upload.extension}") as path:
            features = logo_features_from_file(path)
    except LogoError as exc:
        raise ApplicationError(exc.code, str(exc), 422, field="logo_upload_id") from None
    return upload, features_pack(features)


def _terms(name: str, aliases: list[str]) -> list[str]:
    terms = terms_of(name, aliases)
    if not terms:
        raise ApplicationError(
            "mark_name_invalid", "A mark needs a name with letters or digits.", 400, field="name"
        )
    return terms


def mark_add(
    *,
    holder: RightsHolder,
    kind: str,
    name: str,
    policy: str,
    aliases: list[str] | None = None,
    logo_upload_id: Any = None,
) -> Mark:
    aliases = list(aliases or [])[:MAX_ALIASES]
    mark = Mark(holder=holder, kind=kind, name=name, aliases=aliases, policy=policy)
    mark.terms = _terms(name, aliases)
    if kind == Mark.Kind.LOGO:
        if not logo_upload_id:
            raise ApplicationError(
                "logo_required", "A logo mark needs its image.", 400, field="logo_upload_id"
            )
        # Computed once here, so the output check never recomputes them per video.
        mark.logo, mark.logo_features = _logo_features(holder.owner, logo_upload_id)
    mark.save()
    return mark


def mark_update(*, mark: Mark, **fields: Any) -> Mark:
    for name, value in fields.items():
        setattr(mark, name, value)
    mark.terms = _terms(mark.name, mark.aliases)
    mark.save(update_fields=[*fields, "terms"])
    return mark


def mark_remove(*, mark: Mark) -> None:
    mark.delete()


@transaction.atomic
def license_grant(*, mark: Mark, licensee_username: str, granted_by: User) -> License:
    """License one user for a mark whose policy is `licensed`; granting again changes nothing."""
    if mark.policy != Mark.Policy.LICENSED:
        raise ApplicationError(
            "mark_not_licensable",
            f"“{mark.name}” is {mark.policy}; only a mark whose policy is licensed takes licenses.",
            409,
        )
    licensee = User.objects.filter(username=licensee_username, is_active=True).first()
    if licensee is None:
        raise ApplicationError(
            "licensee_not_found", "No such user.", 400, field="licensee_username"
        )
    existing = mark.licenses.filter(licensee=licensee, revoked_at__isnull=True).first()
    if existing is not None:
        return existing
    return License.objects.create(mark=mark, licensee=licensee, granted_by=granted_by)


def license_revoke(*, license: License) -> License:
    if license.revoked_at is None:
        license.revoked_at = timezone.now()
        license.save(update_fields=["revoked_at"])
    return license

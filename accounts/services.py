from __future__ import annotations

import unicodedata
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from rest_framework import serializers

from accounts.models import AuthToken, Notification, User, token_digest
from config.errors import ApplicationError


def token_issue(*, user: User, device: str = "") -> str:
    raw = AuthToken.new_raw()
    AuthToken.objects.create(user=user, digest=token_digest(raw), device=device[:120])
    return raw


def token_revoke(*, raw: str) -> None:
    AuthToken.objects.filter(digest=token_digest(raw)).delete()


@transaction.atomic
def user_sign_up(*, username: str, email: str, password: str, display_name: str = "") -> User:
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError("username_taken", "That username is taken.", 409)
    if User.objects.filter(email__iexact=email).exists():
        raise ApplicationError("email_taken", "An account with that email exists.", 409)
    user = User(username=username, email=email.lower(), display_name=display_name)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save()
    return user


def username_normalize(raw: object) -> str:
    """A typed username as we store it: Unicode NFKC, no surrounding blanks."""
    return unicodedata.normalize("NFKC", str(raw)).strip()[:150]


def username_key(raw: object) -> str:
    """One key per account: usernames are unique regardless of case (user_sign_up)."""
    return username_normalize(raw).casefold()


def user_log_in(*, request: HttpRequest, username: str, password: str) -> User:
    # Usernames are unique case-insensitively, so "Alice" is alice's account, as the
    # throttle already counts it.
    stored = (
        User.objects.filter(username__iexact=username_normalize(username))
        .values_list("username", flat=True)
        .first()
    )
    user = authenticate(request, username=stored or username_normalize(username), password=password)
    if user is None or not user.is_active:
        raise ApplicationError("invalid_credentials", "Username or password is wrong.", 401)
    return user


def notify(*, user: User, kind: str, payload: dict[str, Any]) -> Notification:
    return Notification.objects.create(user=user, kind=kind, payload=payload)


@transaction.atomic
def user_suspend(*, user: User) -> User:
    """The account stops working at once: no login, and every token it holds is revoked."""
    User.objects.filter(pk=user.pk).update(is_active=False)
    AuthToken.objects.filter(user=user).delete()
    user.refresh_from_db()
    return user


def user_reinstate(*, user: User) -> User:
    """Undo a suspension (an upheld appeal); the user signs in again to get a token."""
    User.objects.filter(pk=user.pk).update(is_active=True)
    user.refresh_from_db()
    return user

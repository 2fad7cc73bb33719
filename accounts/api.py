from __future__ import annotations

import hashlib

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from accounts.auth import AuthedRequest, BearerTokenAuthentication
from accounts.models import Notification, User
from accounts.services import (
    token_issue,
    token_revoke,
    user_log_in,
    user_sign_up,
    username_key,
    username_normalize,
)
from config.api import CursorPage
from config.schema import cursor_page, error


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "display_name", "date_joined"]


class SessionOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    user = UserOutputSerializer()


class UsernameField(serializers.CharField):
    """A username as typed, normalised exactly as the login throttle keys it."""

    def to_internal_value(self, data: str) -> str:
        return username_normalize(super().to_internal_value(data))


class LoginAddressThrottle(SimpleRateThrottle):
    """Attempts from one client address, whatever usernames it tries.

    The address comes from the socket, or from X-Forwarded-For only as far as the configured
    number of trusted proxies reaches (REST_FRAMEWORK NUM_PROXIES), so a client cannot reset
    its count by sending that header."""

    scope = "login_address"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(SimpleRateThrottle):
    """Attempts on one account, from anywhere: the username as authentication will read it,
    so "alice " or "ALICE" count against alice's bucket."""

    scope = "login"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        # Hashed: a cache key must be short ASCII, whatever a client types as a username.
        username = hashlib.sha256(username_key(request.data.get("username", "")).encode())
        return self.cache_format % {"scope": self.scope, "ident": username.hexdigest()[:32]}


class SignupThrottle(AnonRateThrottle):
    scope = "signup"


class SignupApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [SignupThrottle]

    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[A-Za-z0-9_.]{3,30}$", max_length=30)
        email = serializers.EmailField()
        password = serializers.CharField(write_only=True, max_length=128)
        display_name = serializers.CharField(
            max_length=80, required=False, allow_blank=True, default=""
        )
        device = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: SessionOutputSerializer,
            409: error("Taken already (`username_taken`, `email_taken`)."),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = data.validated_data.pop("device")
        user = user_sign_up(**data.validated_data)
        token = token_issue(user=user, device=device)
        body = SessionOutputSerializer({"token": token, "user": user}).data
        return Response(body, status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginAddressThrottle, LoginUsernameThrottle]

    class InputSerializer(serializers.Serializer):
        username = UsernameField(max_length=150)
        password = serializers.CharField(write_only=True, max_length=128)
        device = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            200: SessionOutputSerializer,
            401: error("Username or password is wrong (`invalid_credentials`)."),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_log_in(
            request=request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        token = token_issue(user=user, device=data.validated_data["device"])
        return Response(SessionOutputSerializer({"token": token, "user": user}).data)


class LogoutApi(APIView):
    authentication_classes = [BearerTokenAuthentication]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: AuthedRequest) -> Response:
        raw = request.auth and request.META.get("HTTP_AUTHORIZATION", "").split()[-1]
        if raw:
            token_revoke(raw=raw)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: UserOutputSerializer})
    def get(self, request: AuthedRequest) -> Response:
        return Response(UserOutputSerializer(request.user).data)


class NotificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "payload", "created_at", "read_at"]


class NotificationListApi(APIView):
    """What the user should know, newest first: decisions about their posts or account."""

    @extend_schema(responses={200: cursor_page(NotificationOutputSerializer)})
    def get(self, request: AuthedRequest) -> Response:
        page = CursorPage()
        rows = page.paginate_queryset(
            Notification.objects.filter(user=request.user), request, view=self
        )
        return page.get_paginated_response(NotificationOutputSerializer(rows, many=True).data)

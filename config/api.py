"""API conventions: one JSON error shape for every 4xx, and cursor pagination.

Services raise config.errors.ApplicationError; this is the edge that turns it into a response."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config import screens
from config.errors import ApplicationError, NotFoundError

logger = logging.getLogger(__name__)


class CursorPage(CursorPagination):
    page_size = 20
    max_page_size = 100
    page_size_query_param = "page_size"
    ordering = "-created_at"


def _flatten_fields(detail: Any) -> dict[str, list[str]]:
    if not isinstance(detail, dict):
        return {}
    fields: dict[str, list[str]] = {}
    for name, messages in detail.items():
        if isinstance(messages, dict):
            for sub, inner in _flatten_fields(messages).items():
                fields[f"{name}.{sub}"] = inner
        elif isinstance(messages, list):
            fields[name] = [str(m) for m in messages]
        else:
            fields[name] = [str(messages)]
    return fields


def parse_uuid(value: Any) -> UUID | None:
    """An id from a URL or body as a UUID, or None when it is not one (a 404, never a 500)."""
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None


def owned_or_404(queryset: QuerySet, *, user: Any, object_id: Any, what: str) -> Any:
    """The caller's own object by id; anyone else's looks exactly like a missing one."""
    object_uuid = parse_uuid(object_id)
    found = queryset.filter(id=object_uuid, owner_id=user.pk).first() if object_uuid else None
    if found is None:
        raise NotFoundError(f"No such {what}.")
    return found


def error_body(code: str, detail: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"code": code, "detail": detail, "fields": fields or {}}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):  # the domain's own errors, raised by services
        if isinstance(exc, screens.Refusal):  # the refused work is rolled back by now
            screens.refused(getattr(context.get("request"), "user", None), exc)
        body = error_body(exc.code, exc.message)
        body.update(exc.extra)
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        if isinstance(exc.detail, list):
            message = "; ".join(str(m) for m in exc.detail)
        else:
            message = "Some fields are not valid."
        non_field = fields.pop("non_field_errors", None)
        if non_field:
            message = "; ".join(non_field)
        body = error_body("invalid", message, fields)
    else:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = error_body(str(exc.default_code), str(detail))
        if isinstance(exc, exceptions.Throttled):
            wait: float | None = exc.wait  # type: ignore[attr-defined]  # set in __init__; stubs omit it
            if wait is not None:
                body["retry_after"] = int(wait)
    response.data = body
    return response


def json_error(code: str, detail: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(code, detail), status=status_code)


def not_found_view(request: Request, exception: Exception | None = None) -> JsonResponse:
    return json_error("not_found", "Not found.", status.HTTP_404_NOT_FOUND)


def server_error_view(request: Request) -> JsonResponse:
    return json_error("server_error", "Something went wrong on our side.", 500)


def bad_request_view(request: Request, exception: Exception | None = None) -> JsonResponse:
    return json_error("bad_request", "The request could not be understood.", 400)


def permission_denied_view(request: Request, exception: Exception | None = None) -> JsonResponse:
    return json_error("permission_denied", "You may not do that.", 403)

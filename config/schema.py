"""The OpenAPI schema as the API really answers: paginated envelopes where views page by hand,
and the one error shape on every operation, for each status it can answer.

drf-spectacular only knows pagination for generic list views, and only the 2xx a view
declares. Views here are plain APIViews that page by hand and answer errors through
config.api, so this AutoSchema is taught both, once, instead of every view repeating them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_array_type, force_instance
from drf_spectacular.utils import Direction, OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication

from config.api import CursorPage

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ErrorSerializer(serializers.Serializer):
    """The one shape of every 4xx and 503 answer."""

    code = serializers.CharField(help_text="Stable, for programs: `invalid`, `not_found`, ...")
    detail = serializers.CharField(help_text="For people.")
    # `fields` is the error body's key; as a declared field it shadows Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each invalid field, dotted for nested ones, with its messages.",
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="Throttled: seconds until a retry can succeed."
    )
    field = serializers.CharField(
        required=False, allow_null=True, help_text="Some codes name the one field at fault."
    )
    missing = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="`consent_required`: the consents to accept first.",
    )


def error(description: str) -> OpenApiResponse:
    """An error status a view declares beyond those the schema infers (409, 410, ...)."""
    return OpenApiResponse(ErrorSerializer, description=description)


# What each inferred status means; a view that declares the status itself keeps its own words.
ERRORS = {
    400: "Not valid: `invalid` with `fields` naming each bad field, or a body that does not "
    "parse (`parse_error`, `body_not_object`), or a code of this operation's own.",
    401: "Not logged in, or the token is invalid or expired (`not_authenticated`, "
    "`authentication_failed`).",
    403: "Not allowed (`permission_denied`, also for a session request without its CSRF "
    "token), or a code of this operation's own.",
    404: "No such object, or one you may not see (`not_found`): the two look the same.",
    413: "The body is over the size limit (`upload_too_large`).",
    415: "A Content-Type this operation does not take, or a file of the wrong kind "
    "(`unsupported_media_type`).",
    422: "The file cannot be used: `media_corrupt`, `media_truncated`, `media_too_long`, "
    "`media_too_many_pixels`, `media_no_video`, ...",
    409: "This Idempotency-Key was already used for a different request (`idempotency_conflict`).",
    429: "Too many requests (`throttled`, with `retry_after` and a Retry-After header), or a "
    "code of this operation's own.",
    503: "A backing service is down (`database_unavailable`, `cache_unavailable`, "
    "`queue_unavailable`); try again after Retry-After.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}


# --- Paginated envelopes ----------------------------------------------------------------------
class FeedPage:
    """How feeds/api.py pages posts: `{"next": cursor or null, "results": [...]}`, the cursor
    sent back as one query parameter (it has no `previous`)."""

    def __init__(self, query_param: str, schema: dict[str, Any], description: str) -> None:
        self.query_param = query_param
        self.schema = schema
        self.description = description

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    # One component serves every feed, so it names no parameter.
                    "description": "Send back as the feed's cursor parameter for the next "
                    "page; null on the last.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.query_param,
                "required": False,
                "in": "query",
                "description": self.description,
                "schema": self.schema,
            }
        ]


FOR_YOU = FeedPage("cursor", {"type": "string"}, "The `next` of the previous page.")
CHRONOLOGICAL = FeedPage(
    "before", {"type": "integer"}, "A post id (the `next` of the previous page): older posts."
)


@dataclass(frozen=True)
class Paginated:
    """A 2xx response that is a page of `item`s in `paginator`'s envelope. `errors`: what a
    bad cursor answers (CursorPage and For You: 404; `before` that is not an id: 400)."""

    item: type[serializers.Serializer]
    paginator: Any
    component: str
    errors: frozenset[int] = field(default=frozenset())


def _item_name(item: type[serializers.Serializer]) -> str:
    return item.__name__.removesuffix("Serializer")


def cursor_page(item: type[serializers.Serializer]) -> Paginated:
    """config.api.CursorPage's page: `{next, previous, results}`, `cursor` and `page_size`."""
    name = f"Paginated{_item_name(item)}List"
    return Paginated(item, CursorPage(), name, frozenset({404}))


def feed_page(item: type[serializers.Serializer], paginator: FeedPage) -> Paginated:
    bad_cursor = 400 if paginator is CHRONOLOGICAL else 404
    return Paginated(item, paginator, f"{_item_name(item)}FeedPage", frozenset({bad_cursor}))


# --- The AutoSchema ---------------------------------------------------------------------------
class AutoSchema(BaseAutoSchema):
    """Names serializers nested in a view after the view (SignupApi.InputSerializer ->
    SignupApiInput), so the many InputSerializer classes do not collide in the schema;
    documents hand-paged lists as pages; adds the error responses each operation can give."""

    def get_serializer_name(self, serializer: serializers.Serializer, direction: Direction) -> str:
        qualname = type(serializer).__qualname__
        if "." in qualname:
            return qualname.replace(".", "").removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)

    # Pages: a Paginated response makes this a list view whose paginator is the page's, so
    # drf-spectacular adds the cursor parameters and names the operation `..._list` itself.
    def _page(self) -> Paginated | None:
        # The views' responses hold Paginated markers too, beyond what drf-spectacular types.
        responses: object = self.get_response_serializers()
        found: Iterable[object] = responses.values() if isinstance(responses, dict) else [responses]
        return next((r for r in found if isinstance(r, Paginated)), None)

    def _is_list_view(self, serializer: Any = None) -> bool:
        if isinstance(serializer, Paginated) or (serializer is None and self._page()):
            return True
        return super()._is_list_view(serializer)

    def _get_paginator(self) -> Any:
        page = self._page()
        return page.paginator if page is not None else super()._get_paginator()

    def _get_response_for_code(
        self,
        serializer: Any,
        status_code: str,
        media_types: Any = None,
        direction: Any = "response",
    ) -> dict[str, Any]:
        if not isinstance(serializer, Paginated):
            return super()._get_response_for_code(serializer, status_code, media_types, direction)
        item = self.resolve_serializer(serializer.item, direction).ref
        component = ResolvedComponent(
            name=serializer.component,
            type=ResolvedComponent.SCHEMA,
            schema=serializer.paginator.get_paginated_response_schema(build_array_type(item)),
            object=serializer.component,
        )
        self.registry.register_on_missing(component)
        return {"content": {"application/json": {"schema": component.ref}}, "description": ""}

    # Errors: each status this operation can answer, from what the view is made of.
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        error_ref = self.resolve_serializer(ErrorSerializer, "response").ref
        for status in sorted(self._error_statuses()):
            if str(status) in responses:
                continue
            response: dict[str, Any] = {
                "content": {"application/json": {"schema": error_ref}},
                "description": ERRORS[status],
            }
            if status in (429, 503):
                response["headers"] = RETRY_AFTER
            responses[str(status)] = response
        return responses

    def _error_statuses(self) -> set[int]:
        statuses = {503}  # any view: ServiceUnavailableMiddleware
        if self._get_request_body() is not None:
            statuses |= {400, 413, 415}
            if self._takes_file():
                statuses.add(422)
        authenticators = self.view.get_authenticators()
        if authenticators:
            statuses.add(401)  # a bad token fails even where anyone may call
        if self.method in UNSAFE_METHODS and any(
            isinstance(a, SessionAuthentication) for a in authenticators
        ):
            statuses.add(403)  # CSRF; views that refuse on their own say so under this too
        if "{" in self.path:
            statuses.add(404)
        page = self._page()
        if page is not None:
            statuses |= page.errors
        if self.view.get_throttles():
            statuses.add(429)
        parameters = self.get_override_parameters()
        if any(getattr(p, "name", None) == "Idempotency-Key" for p in parameters):
            statuses.add(409)
        return statuses

    def _takes_file(self) -> bool:
        serializer = force_instance(self.get_request_serializer())
        fields = getattr(serializer, "fields", {})
        return any(isinstance(f, serializers.FileField) for f in fields.values())

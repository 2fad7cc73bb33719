from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import AuthedRequest
from config.api import CursorPage
from config.errors import ApplicationError
from config.schema import cursor_page, error
from consent import services
from consent.models import ConsentAcceptance, ConsentDocument, ConsentEvent
from consent.selectors import audit_for_subject


class DocumentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentDocument
        fields = ["id", "kind", "version", "title", "body", "published_at"]


class AcceptanceOutputSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="document.kind")
    version = serializers.IntegerField(source="document.version")

    class Meta:
        model = ConsentAcceptance
        fields = ["id", "kind", "version", "accepted_at", "withdrawn_at", "client"]


class EventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = ConsentEvent
        fields = ["id", "kind", "actor", "cameo", "detail", "created_at"]


def _client_metadata(request: Request, given: dict) -> dict:
    return {
        "ip": request.META.get("REMOTE_ADDR", ""),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        **{key: str(value)[:100] for key, value in given.items()},
    }


class DocumentListApi(APIView):
    @extend_schema(responses={200: DocumentOutputSerializer(many=True)})
    def get(self, request: AuthedRequest) -> Response:
        documents = [services.current_document(kind) for kind in ConsentDocument.Kind.values]
        return Response(DocumentOutputSerializer(documents, many=True).data)


class ConsentListApi(APIView):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ConsentDocument.Kind.choices)
        version = serializers.IntegerField(min_value=1)
        accepted = serializers.BooleanField()
        client = serializers.DictField(
            child=serializers.CharField(max_length=100), required=False, default=dict
        )

    @extend_schema(responses={200: AcceptanceOutputSerializer(many=True)})
    def get(self, request: AuthedRequest) -> Response:
        rows = ConsentAcceptance.objects.filter(user=request.user).select_related("document")
        return Response(AcceptanceOutputSerializer(rows.order_by("-accepted_at"), many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: AcceptanceOutputSerializer,
            404: error("No such document version (`consent_document_missing`)."),
            409: error("A newer version is current (`consent_document_outdated`)."),
        },
    )
    def post(self, request: AuthedRequest) -> Response:
        """Accept one consent document, explicitly (`accepted` must be true)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["accepted"]:
            raise ApplicationError("consent_not_accepted", "Consent must be given explicitly.", 400)
        document = ConsentDocument.objects.filter(
            kind=data.validated_data["kind"], version=data.validated_data["version"]
        ).first()
        if document is None:
            raise ApplicationError(
                "consent_document_missing", "No such consent document version.", 404
            )
        acceptance = services.consent_accept(
            user=request.user,
            document=document,
            client=_client_metadata(request, data.validated_data["client"]),
        )
        return Response(AcceptanceOutputSerializer(acceptance).data, status=status.HTTP_201_CREATED)


class AuditListApi(APIView):
    @extend_schema(responses={200: cursor_page(EventOutputSerializer)})
    def get(self, request: AuthedRequest) -> Response:
        page = CursorPage()
        rows = page.paginate_queryset(audit_for_subject(user=request.user), request, self)
        return page.get_paginated_response(EventOutputSerializer(rows, many=True).data)

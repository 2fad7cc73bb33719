"""The registry's endpoints: holders manage their own marks and licenses (404 for anyone
else's); anyone signed in may look up which names in a text are protected."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import AuthedRequest
from config.api import CursorPage
from config.schema import cursor_page, error
from config.screens import Point, Subject
from rights import services
from rights.checks import marks_in_request
from rights.models import License, Mark, RightsHolder
from rights.selectors import (
    access_holder,
    access_license,
    access_mark,
    holders_of,
    licenses_of,
    marks_of,
)

NO_HOLDER = error("No rights holder of yours has that id (`not_found`).")
NO_MARK = error("No mark of yours has that id (`not_found`).")


class HolderOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = RightsHolder
        fields = ["id", "display_name", "contact", "created_at"]


class MarkOutputSerializer(serializers.ModelSerializer):
    holder = serializers.UUIDField(source="holder_id")
    logo_upload_id = serializers.UUIDField(source="logo_id", allow_null=True)

    class Meta:
        model = Mark
        fields = ["id", "holder", "kind", "name", "aliases", "policy", "logo_upload_id"]


class LicenseOutputSerializer(serializers.ModelSerializer):
    mark = serializers.UUIDField(source="mark_id")
    licensee = serializers.CharField(source="licensee.username")

    class Meta:
        model = License
        fields = ["id", "mark", "licensee", "created_at", "revoked_at"]


class HolderInputSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=120)
    contact = serializers.EmailField()


class HolderListApi(APIView):
    @extend_schema(responses={200: HolderOutputSerializer(many=True)})
    def get(self, request: AuthedRequest) -> Response:
        return Response(HolderOutputSerializer(holders_of(user=request.user), many=True).data)

    @extend_schema(request=HolderInputSerializer, responses={201: HolderOutputSerializer})
    def post(self, request: AuthedRequest) -> Response:
        data = HolderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        holder = services.holder_register(owner=request.user, **data.validated_data)
        return Response(HolderOutputSerializer(holder).data, status=status.HTTP_201_CREATED)


class HolderDetailApi(APIView):
    @extend_schema(responses={200: HolderOutputSerializer, 404: NO_HOLDER})
    def get(self, request: AuthedRequest, holder_id: str) -> Response:
        holder = access_holder(user=request.user, holder_id=holder_id)
        return Response(HolderOutputSerializer(holder).data)

    @extend_schema(
        request=HolderInputSerializer(partial=True),
        responses={200: HolderOutputSerializer, 404: NO_HOLDER},
    )
    def patch(self, request: AuthedRequest, holder_id: str) -> Response:
        holder = access_holder(user=request.user, holder_id=holder_id)
        data = HolderInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        holder = services.holder_update(holder=holder, **data.validated_data)
        return Response(HolderOutputSerializer(holder).data)


class MarkListApi(APIView):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Mark.Kind.choices)
        name = serializers.CharField(max_length=120)
        aliases = serializers.ListField(
            child=serializers.CharField(max_length=120), required=False, default=list
        )
        policy = serializers.ChoiceField(choices=Mark.Policy.choices)
        logo_upload_id = serializers.UUIDField(required=False, allow_null=True, default=None)

    @extend_schema(responses={200: cursor_page(MarkOutputSerializer), 404: NO_HOLDER})
    def get(self, request: AuthedRequest, holder_id: str) -> Response:
        holder = access_holder(user=request.user, holder_id=holder_id)
        page = CursorPage()
        rows = page.paginate_queryset(marks_of(holder=holder), request, self)
        return page.get_paginated_response(MarkOutputSerializer(rows, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: MarkOutputSerializer,
            404: error("No rights holder or upload of yours has that id (`not_found`)."),
            422: error("The logo has too little detail to be recognised (`logo_unusable`)."),
        },
    )
    def post(self, request: AuthedRequest, holder_id: str) -> Response:
        holder = access_holder(user=request.user, holder_id=holder_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mark = services.mark_add(holder=holder, **data.validated_data)
        return Response(MarkOutputSerializer(mark).data, status=status.HTTP_201_CREATED)


class MarkDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        aliases = serializers.ListField(
            child=serializers.CharField(max_length=120), required=False, max_length=20
        )
        policy = serializers.ChoiceField(choices=Mark.Policy.choices, required=False)

    @extend_schema(responses={200: MarkOutputSerializer, 404: NO_MARK})
    def get(self, request: AuthedRequest, mark_id: str) -> Response:
        return Response(MarkOutputSerializer(access_mark(user=request.user, mark_id=mark_id)).data)

    @extend_schema(request=InputSerializer, responses={200: MarkOutputSerializer, 404: NO_MARK})
    def patch(self, request: AuthedRequest, mark_id: str) -> Response:
        mark = access_mark(user=request.user, mark_id=mark_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mark = services.mark_update(mark=mark, **data.validated_data)
        return Response(MarkOutputSerializer(mark).data)

    @extend_schema(responses={204: None, 404: NO_MARK})
    def delete(self, request: AuthedRequest, mark_id: str) -> Response:
        services.mark_remove(mark=access_mark(user=request.user, mark_id=mark_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LicenseListApi(APIView):
    class InputSerializer(serializers.Serializer):
        licensee_username = serializers.CharField(max_length=150)

    @extend_schema(responses={200: cursor_page(LicenseOutputSerializer), 404: NO_MARK})
    def get(self, request: AuthedRequest, mark_id: str) -> Response:
        mark = access_mark(user=request.user, mark_id=mark_id)
        page = CursorPage()
        rows = page.paginate_queryset(licenses_of(mark=mark), request, self)
        return page.get_paginated_response(LicenseOutputSerializer(rows, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: LicenseOutputSerializer,
            404: NO_MARK,
            409: error("The mark's policy is not `licensed` (`mark_not_licensable`)."),
        },
    )
    def post(self, request: AuthedRequest, mark_id: str) -> Response:
        mark = access_mark(user=request.user, mark_id=mark_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        license = services.license_grant(mark=mark, granted_by=request.user, **data.validated_data)
        return Response(LicenseOutputSerializer(license).data, status=status.HTTP_201_CREATED)


class LicenseDetailApi(APIView):
    @extend_schema(responses={204: None, 404: error("No license on a mark of yours has that id.")})
    def delete(self, request: AuthedRequest, license_id: str) -> Response:
        services.license_revoke(license=access_license(user=request.user, license_id=license_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LookupApi(APIView):
    """Which protected names a text mentions, and whether this caller may use each: what a
    generation request with this text would be told, before it is sent. Names are public by
    design (a holder registers them to be refused by name); logos are never shown here."""

    class OutputSerializer(serializers.Serializer):
        outcome = serializers.CharField()
        code = serializers.CharField()
        reason = serializers.CharField()
        detail = serializers.DictField()

    @extend_schema(
        parameters=[OpenApiParameter("text", str, required=True)],
        responses={200: OutputSerializer(many=True)},
    )
    def get(self, request: AuthedRequest) -> Response:
        text = str(request.query_params.get("text", ""))[:5000]
        subject = Subject(point=Point.REQUEST, user=request.user, texts={"text": text})
        found = [v for v in marks_in_request(subject) if v.detail]
        return Response(self.OutputSerializer([v.as_dict() for v in found], many=True).data)

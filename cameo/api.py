from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import AuthedRequest
from cameo import cascade, selectors, services
from cameo.models import Cameo, Capture
from config.api import CursorPage
from config.links import media_url
from config.schema import cursor_page, error
from consent import services as consent
from consent.models import Appearance, ConsentDocument, Grant
from jobs.api import JobOutputSerializer, JobSubmitThrottle
from media.api import UploadThrottle


class CaptureOutputSerializer(serializers.ModelSerializer):
    job = JobOutputSerializer(allow_null=True)
    cameo_id = serializers.SerializerMethodField()

    class Meta:
        model = Capture
        fields = [
            "id",
            "state",
            "challenge",
            "expires_at",
            "job",
            "reject_code",
            "reject_message",
            "reject_hint",
            "cameo_id",
            "created_at",
        ]

    def get_cameo_id(self, capture: Capture) -> str | None:
        cameo = Cameo.objects.filter(capture=capture).only("id").first()
        return str(cameo.id) if cameo else None


class CameoOutputSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")

    class Meta:
        model = Cameo
        fields = [
            "id",
            "owner",
            "state",
            "audience",
            "instructions",
            "models_used",
            "created_at",
            "last_used_at",
            "revoked_at",
            "revoke_reason",
        ]


class CameoPublicSerializer(serializers.ModelSerializer):
    """What others may see of a double: that it exists and who to ask."""

    owner = serializers.CharField(source="owner.username")

    class Meta:
        model = Cameo
        fields = ["id", "owner", "state", "audience"]


class GrantOutputSerializer(serializers.ModelSerializer):
    grantee = serializers.CharField(source="grantee.username")

    class Meta:
        model = Grant
        fields = ["id", "grantee", "state", "note", "requested_at", "decided_at"]


class AppearanceOutputSerializer(serializers.ModelSerializer):
    used_by = serializers.CharField(source="used_by.username")
    video_state = serializers.CharField(source="video.state", default=None)
    job_state = serializers.CharField(source="job.state", default=None)

    class Meta:
        model = Appearance
        fields = [
            "id",
            "used_by",
            "job",
            "video",
            "video_state",
            "job_state",
            "receipt",
            "created_at",
            "taken_down_at",
        ]


class CaptureStartApi(APIView):
    throttle_classes = [JobSubmitThrottle]

    @extend_schema(
        request=None,
        responses={
            201: CaptureOutputSerializer,
            403: error("Accept the capture consents first (`consent_required`, with `missing`)."),
        },
    )
    def post(self, request: AuthedRequest) -> Response:
        capture = services.capture_start(owner=request.user)
        return Response(CaptureOutputSerializer(capture).data, status=status.HTTP_201_CREATED)


class CaptureDetailApi(APIView):
    @extend_schema(responses={200: CaptureOutputSerializer})
    def get(self, request: AuthedRequest, capture_id: str) -> Response:
        capture = selectors.access_capture(user=request.user, capture_id=capture_id)
        return Response(CaptureOutputSerializer(capture).data)


class CaptureClipApi(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [UploadThrottle]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)
        mirrored = serializers.BooleanField(
            default=False,
            help_text="True when the app stored the frames mirrored, as its preview showed them.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            202: CaptureOutputSerializer,
            409: error("This capture is not waiting for a clip (`capture_not_awaiting_clip`)."),
            410: error("The challenge expired; start a new capture (`challenge_expired`)."),
            422: error(
                "The clip cannot be used: `media_corrupt`, `capture_needs_audio`, "
                "`capture_too_short`, `capture_too_long`, ..."
            ),
        },
    )
    def post(self, request: AuthedRequest, capture_id: str) -> Response:
        capture = selectors.access_capture(user=request.user, capture_id=capture_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        capture = services.capture_attach_clip(
            capture=capture,
            uploaded=data.validated_data["file"],
            mirrored=data.validated_data["mirrored"],
        )
        return Response(CaptureOutputSerializer(capture).data, status=status.HTTP_202_ACCEPTED)


class CameoListApi(APIView):
    @extend_schema(responses={200: CameoOutputSerializer(many=True)})
    def get(self, request: AuthedRequest) -> Response:
        cameos = selectors.cameos_for_owner(user=request.user)
        return Response(CameoOutputSerializer(cameos, many=True).data)


class CameoDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        audience = serializers.ChoiceField(choices=Cameo.Audience.choices, required=False)
        instructions = serializers.CharField(max_length=500, required=False, allow_blank=True)

    @extend_schema(responses={200: CameoOutputSerializer})
    def get(self, request: AuthedRequest, cameo_id: str) -> Response:
        cameo = selectors.access_cameo(user=request.user, cameo_id=cameo_id)
        if cameo.owner_id == request.user.pk:
            return Response(CameoOutputSerializer(cameo).data)
        return Response(CameoPublicSerializer(cameo).data)

    @extend_schema(
        request=InputSerializer,
        responses={200: CameoOutputSerializer, 409: error("Revoked (`cameo_revoked`).")},
    )
    def patch(self, request: AuthedRequest, cameo_id: str) -> Response:
        cameo = selectors.access_cameo(user=request.user, cameo_id=cameo_id, owner_only=True)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cameo = services.cameo_update(cameo=cameo, actor=request.user, **data.validated_data)
        return Response(CameoOutputSerializer(cameo).data)


class CameoBiometricsApi(APIView):
    """The owner's view of what is stored about them: links to crops and cutout, models."""

    class OutputSerializer(serializers.Serializer):
        embedding_model = serializers.CharField()
        face_crops = serializers.ListField(child=serializers.CharField())
        cutout = serializers.CharField()
        voice_pitch = serializers.DictField()
        metadata = serializers.DictField()

    @extend_schema(
        responses={
            200: OutputSerializer,
            410: error("Deleted after a revocation or withdrawal (`biometrics_deleted`)."),
        }
    )
    def get(self, request: AuthedRequest, cameo_id: str) -> Response:
        cameo = selectors.access_cameo(user=request.user, cameo_id=cameo_id, owner_only=True)
        biometrics = getattr(cameo, "biometrics", None)
        if biometrics is None:
            return Response(
                {"code": "biometrics_deleted", "detail": "Deleted.", "fields": {}},
                status=status.HTTP_410_GONE,
            )
        body = {
            "embedding_model": biometrics.embedding_model,
            "face_crops": [media_url(name) for name in biometrics.face_crops],
            "cutout": media_url(biometrics.cutout),
            "voice_pitch": biometrics.voice_pitch,
            "metadata": biometrics.metadata,
        }
        return Response(self.OutputSerializer(body).data)


class CameoRevokeApi(APIView):
    @extend_schema(request=None, responses={200: CameoOutputSerializer})
    def post(self, request: AuthedRequest, cameo_id: str) -> Response:
        cameo = selectors.access_cameo(user=request.user, cameo_id=cameo_id, owner_only=True)
        if cameo.is_active:
            cascade.cameo_revoke(cameo=cameo, actor=request.user, reason="owner_revoked")
        cameo.refresh_from_db()
        return Response(CameoOutputSerializer(cameo).data)


class GrantListApi(APIView):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    @extend_schema(responses={200: GrantOutputSerializer(many=True)})
    def get(self, request: AuthedRequest, cameo_id: str) -> Response:
        cameo = selectors.access_cameo(user=request.user, cameo_id=cameo_id, owner_only=True)
        return Response(
            GrantOutputSerializer(cameo.grants.select_related("grantee"), many=True).data
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            201: GrantOutputSerializer,
            400: error("Your own cameo needs no grant (`grant_self`), or `invalid`."),
        },
    )
    def post(self, request: AuthedRequest, cameo_id: str) -> Response:
        """Ask the owner for permission to use their cameo."""
        cameo = selectors.access_cameo(user=request.user, cameo_id=cameo_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = consent.grant_request(cameo=cameo, grantee=request.user, **data.validated_data)
        return Response(GrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)


class GrantDecisionApi(APIView):
    decision = ""

    @extend_schema(
        request=None,
        responses={
            200: GrantOutputSerializer,
            409: error(
                "Decided already (`grant_not_pending`), or not approved, so nothing to "
                "revoke (`grant_not_approved`)."
            ),
        },
    )
    def post(self, request: AuthedRequest, cameo_id: str, grant_id: int) -> Response:
        cameo = selectors.access_cameo(user=request.user, cameo_id=cameo_id, owner_only=True)
        grant = selectors.access_grant(cameo=cameo, grant_id=grant_id)
        if self.decision == "revoke":
            grant = cascade.grant_revoke(grant=grant, actor=request.user)
        else:
            grant = consent.grant_decide(
                grant=grant, actor=request.user, approve=self.decision == "approve"
            )
        return Response(GrantOutputSerializer(grant).data)


class AppearanceListApi(APIView):
    @extend_schema(responses={200: cursor_page(AppearanceOutputSerializer)})
    def get(self, request: AuthedRequest, cameo_id: str) -> Response:
        cameo = selectors.access_cameo(user=request.user, cameo_id=cameo_id, owner_only=True)
        page = CursorPage()
        rows = page.paginate_queryset(selectors.appearances_for_cameo(cameo=cameo), request, self)
        return page.get_paginated_response(AppearanceOutputSerializer(rows, many=True).data)


class AppearanceTakedownApi(APIView):
    @extend_schema(request=None, responses={200: AppearanceOutputSerializer})
    def post(self, request: AuthedRequest, cameo_id: str, appearance_id: int) -> Response:
        cameo = selectors.access_cameo(user=request.user, cameo_id=cameo_id, owner_only=True)
        appearance = selectors.access_appearance(cameo=cameo, appearance_id=appearance_id)
        appearance = cascade.appearance_take_down(
            appearance=appearance, actor=request.user, reason="owner_takedown"
        )
        return Response(AppearanceOutputSerializer(appearance).data)


class ConsentWithdrawApi(APIView):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ConsentDocument.Kind.choices)

    class OutputSerializer(serializers.Serializer):
        cameos_revoked = serializers.IntegerField(required=False)
        captures_withdrawn = serializers.IntegerField(required=False)
        jobs_cancelled = serializers.IntegerField()
        videos_taken_down = serializers.IntegerField()

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, 409: error("Nothing to withdraw (`consent_not_given`).")},
    )
    def post(self, request: AuthedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        summary = cascade.consent_withdraw(user=request.user, kind=data.validated_data["kind"])
        return Response(self.OutputSerializer(summary).data)

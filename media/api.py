"""The media API: uploads (direct or presigned), their transcode, and /media/ itself."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from accounts.auth import AuthedRequest
from config.api import json_error
from config.errors import ApplicationError
from config.links import media_name_from_token, media_url
from config.schema import error
from jobs.api import IDEMPOTENCY, JobOutputSerializer, JobSubmitThrottle, idempotency_key
from jobs.services import job_submit
from media import intake
from media.models import Upload, Video
from media.selectors import access_upload, media_available
from media.storage import storage_redirect_url


class UploadThrottle(UserRateThrottle):
    scope = "upload"


class UploadOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = ["id", "kind", "state", "bytes", "probe", "url", "created_at"]

    def get_url(self, upload: Upload) -> str:
        return media_url(upload.file.name) if upload.state == Upload.State.READY else ""


class UploadCreateApi(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [UploadThrottle]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Upload.Kind.choices)
        file = serializers.FileField(allow_empty_file=True)

    @extend_schema(request=InputSerializer, responses={201: UploadOutputSerializer})
    def post(self, request: AuthedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = intake.upload_create(
            owner=request.user,
            kind=data.validated_data["kind"],
            uploaded=data.validated_data["file"],
        )
        return Response(UploadOutputSerializer(upload).data, status=status.HTTP_201_CREATED)


class UploadDetailApi(APIView):
    @extend_schema(responses={200: UploadOutputSerializer})
    def get(self, request: AuthedRequest, upload_id: str) -> Response:
        upload = access_upload(user=request.user, upload_id=upload_id)
        return Response(UploadOutputSerializer(upload).data)


class UploadPresignApi(APIView):
    throttle_classes = [UploadThrottle]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Upload.Kind.choices)

    class OutputSerializer(serializers.Serializer):
        upload = UploadOutputSerializer()
        url = serializers.URLField()
        # `fields` is the presigned POST's key; as a declared field it shadows Serializer.fields.
        fields = serializers.DictField(child=serializers.CharField())  # type: ignore[assignment]

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            409: error("Direct uploads need S3 storage (`presign_unavailable`)."),
        },
    )
    def post(self, request: AuthedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload, post = intake.upload_presign(owner=request.user, kind=data.validated_data["kind"])
        body = {"upload": UploadOutputSerializer(upload).data, **post}
        return Response(body, status=status.HTTP_201_CREATED)


class UploadCompleteApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: UploadOutputSerializer,
            409: error(
                "Rejected already (`upload_rejected`), or nothing was put at the "
                "presigned URL yet (`upload_missing`)."
            ),
            413: error("The stored object is over the size limit (`upload_too_large`)."),
            415: error("The stored object is not of its kind (`unsupported_media_type`)."),
            422: error("The stored object cannot be used (`media_corrupt`, ...)."),
        },
    )
    def post(self, request: AuthedRequest, upload_id: str) -> Response:
        upload = intake.upload_complete(
            upload=access_upload(user=request.user, upload_id=upload_id)
        )
        return Response(UploadOutputSerializer(upload).data)


class UploadTranscodeApi(APIView):
    throttle_classes = [JobSubmitThrottle]

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY],
        responses={
            202: JobOutputSerializer,
            409: error(
                "Only an accepted video can be transcoded (`upload_not_ready`), or the "
                "Idempotency-Key was used for another request (`idempotency_conflict`)."
            ),
        },
    )
    def post(self, request: AuthedRequest, upload_id: str) -> Response:
        upload = access_upload(user=request.user, upload_id=upload_id)
        if upload.state != Upload.State.READY or upload.kind != Upload.Kind.VIDEO:
            raise ApplicationError(
                "upload_not_ready", "Only accepted videos can be transcoded.", 409
            )
        job, _ = job_submit(
            owner=request.user,
            kind="media.transcode",
            params={"upload_id": str(upload.id)},
            idempotency_key=idempotency_key(request),
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def media_serve(request: HttpRequest) -> HttpResponseBase:
    """Serve a stored file for a signed, unexpired link, if the file may still be seen.

    Every link points here, whatever the storage: the signature says who was given the link,
    and the check at serve time says whether the video is still up. With S3 the answer is a
    redirect to a presigned URL that lives only seconds."""
    name = media_name_from_token(request.GET.get("t", ""))
    if name is None:
        return json_error("media_link_invalid", "This media link is invalid or has expired.", 404)
    if not media_available(name):
        return json_error("media_unavailable", "This media was taken down.", 410)
    if settings.S3_BUCKET:
        return HttpResponseRedirect(storage_redirect_url(name))
    if not default_storage.exists(name):
        return json_error("media_link_invalid", "This media link is invalid or has expired.", 404)
    response = FileResponse(default_storage.open(name, "rb"))
    # A link's signature is its only key: no shared cache may keep what a takedown must stop.
    response["Cache-Control"] = "private, max-age=60"
    return response


class VideoOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    subtitles_url = serializers.SerializerMethodField()
    remix_of = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id",
            "state",
            "width",
            "height",
            "duration_s",
            "url",
            "poster_url",
            "preview_url",
            "subtitles_url",
            "provenance_backend",
            "manifest",
            "storyboard",
            "prompt",
            "remix_of",
            "created_at",
        ]

    @extend_schema_field(
        inline_serializer(
            "VideoRemixOf",
            {
                "remix": serializers.UUIDField(),
                "operation": serializers.CharField(),
                "post": serializers.IntegerField(allow_null=True),
                "video": serializers.UUIDField(allow_null=True),
            },
            allow_null=True,
        )
    )
    def get_remix_of(self, video: Video) -> dict[str, Any] | None:
        """A remix's draft shows its source before it is published (then its post does)."""
        try:
            remix = video.remix  # remix.Remix.video's reverse side
        except ObjectDoesNotExist:
            return None
        return {
            "remix": str(remix.id),
            "operation": remix.operation,
            "post": remix.source_post_id,
            "video": remix.source_video_id,
        }

    def get_url(self, video: Video) -> str:
        return media_url(video.file)

    def get_poster_url(self, video: Video) -> str:
        return media_url(video.poster)

    def get_preview_url(self, video: Video) -> str:
        return media_url(video.preview)

    def get_subtitles_url(self, video: Video) -> str:
        return media_url(video.subtitles)

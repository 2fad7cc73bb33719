from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from config.api import ApiError, json_error
from config.schema import error
from generation import intake
from generation.generations import (
    CastRequest,
    estimate_seconds,
    generation_submit,
    storyboard_from_request,
)
from generation.lookup import provenance_lookup
from generation.models import Upload, Video
from generation.pipeline.storyboard import ASPECTS, MOODS, SETTINGS, STYLES
from generation.selectors import access_upload, access_video, media_available
from generation.storage import media_name_from_token, media_url, storage_redirect_url
from jobs.api import IDEMPOTENCY, JobOutputSerializer, JobSubmitThrottle, idempotency_key
from jobs.services import job_submit


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
    def post(self, request: Request) -> Response:
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
    def get(self, request: Request, upload_id: str) -> Response:
        upload = access_upload(user=request.user, upload_id=upload_id)
        return Response(UploadOutputSerializer(upload).data)


class UploadPresignApi(APIView):
    throttle_classes = [UploadThrottle]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Upload.Kind.choices)

    class OutputSerializer(serializers.Serializer):
        upload = UploadOutputSerializer()
        url = serializers.URLField()
        fields = serializers.DictField(child=serializers.CharField())

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            409: error("Direct uploads need S3 storage (`presign_unavailable`)."),
        },
    )
    def post(self, request: Request) -> Response:
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
    def post(self, request: Request, upload_id: str) -> Response:
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
    def post(self, request: Request, upload_id: str) -> Response:
        upload = access_upload(user=request.user, upload_id=upload_id)
        if upload.state != Upload.State.READY or upload.kind != Upload.Kind.VIDEO:
            raise ApiError("upload_not_ready", "Only accepted videos can be transcoded.", 409)
        job, _ = job_submit(
            owner=request.user,
            kind="media.transcode",
            params={"upload_id": str(upload.id)},
            idempotency_key=idempotency_key(request),
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def media_serve(request: HttpRequest) -> HttpResponse:
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


# --- Generations ------------------------------------------------------------------------------
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
        from remix.selectors import remix_of_video

        remix = remix_of_video(video)
        if remix is None:
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


class GenerationInputSerializer(serializers.Serializer):
    class CastSerializer(serializers.Serializer):
        cameo_id = serializers.UUIDField()
        subject = serializers.CharField(
            max_length=40, required=False, allow_null=True, default=None
        )

    class AudioSerializer(serializers.Serializer):
        dialogue = serializers.ListField(
            child=serializers.CharField(max_length=200), max_length=6, required=False, default=list
        )
        music_mood = serializers.ChoiceField(
            choices=MOODS, required=False, allow_null=True, default=None
        )
        ambience = serializers.ChoiceField(
            choices=SETTINGS, required=False, allow_null=True, default=None
        )

    prompt = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    storyboard = serializers.DictField(required=False, allow_null=True, default=None)
    cast = CastSerializer(many=True, required=False, default=list)
    aspect = serializers.ChoiceField(choices=list(ASPECTS), default="9:16")
    duration_s = serializers.FloatField(min_value=1.0, max_value=20.0, default=9.0)
    style = serializers.ChoiceField(choices=STYLES, default="natural")
    audio = AudioSerializer(required=False, default=dict)
    burn_subtitles = serializers.BooleanField(default=False)

    def validate(self, data: dict) -> dict:
        if not data["prompt"].strip() and not data["storyboard"]:
            raise serializers.ValidationError("Give a prompt or a storyboard.")
        if len(data["cast"]) > 4:
            raise serializers.ValidationError("At most four cameos per video.")
        return data


def _storyboard_for(data: dict) -> Any:
    audio = data["audio"] or {}
    board = storyboard_from_request(
        prompt=data["prompt"],
        storyboard=data["storyboard"],
        aspect=data["aspect"],
        duration_s=data["duration_s"],
        style=data["style"],
        mood=audio.get("music_mood"),
        dialogue=audio.get("dialogue") or [],
        cast=[],
    )
    if audio.get("ambience"):
        board.setting = audio["ambience"]
    return board


class GenerationPlanApi(APIView):
    """Plan only: the storyboard a prompt would make, to edit and submit."""

    class OutputSerializer(serializers.Serializer):
        storyboard = serializers.DictField()
        estimate_s = serializers.FloatField()

    @extend_schema(request=GenerationInputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = GenerationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        board = _storyboard_for(data.validated_data)
        return Response({"storyboard": board.as_dict(), "estimate_s": estimate_seconds(board)})


class GenerationCreateApi(APIView):
    throttle_classes = [JobSubmitThrottle]

    class OutputSerializer(serializers.Serializer):
        job = JobOutputSerializer()
        storyboard = serializers.DictField()
        estimate_s = serializers.FloatField()

    @extend_schema(
        request=GenerationInputSerializer,
        parameters=[IDEMPOTENCY],
        responses={
            202: OutputSerializer,
            403: error("A cast double you may not use (`cameo_not_permitted`, `cameo_revoked`)."),
            404: error("A cast cameo that does not exist or that you may not see."),
            429: error(
                "Throttled (`throttled`), or today's budget is spent "
                "(`generation_budget_exceeded`)."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = GenerationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        board = _storyboard_for(data.validated_data)
        job, estimate = generation_submit(
            owner=request.user,
            board=board,
            cast=[
                CastRequest(str(c["cameo_id"]), c["subject"]) for c in data.validated_data["cast"]
            ],
            burn_subtitles=data.validated_data["burn_subtitles"],
            prompt=data.validated_data["prompt"],
            idempotency_key=idempotency_key(request),
        )
        body = {
            "job": JobOutputSerializer(job).data,
            "storyboard": job.params["storyboard"],
            "estimate_s": estimate,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class VideoDetailApi(APIView):
    @extend_schema(responses={200: VideoOutputSerializer})
    def get(self, request: Request, video_id: str) -> Response:
        return Response(
            VideoOutputSerializer(access_video(user=request.user, video_id=video_id)).data
        )


class ProvenanceLookupApi(APIView):
    """Was this video file generated here, and from what? Works after re-encoding."""

    parser_classes = [MultiPartParser]
    throttle_classes = [UploadThrottle]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()

    class OutputSerializer(serializers.Serializer):
        class VideoRef(serializers.Serializer):
            id = serializers.UUIDField()
            state = serializers.CharField()

        class PostRef(serializers.Serializer):
            id = serializers.IntegerField()

        generated_here = serializers.BooleanField()
        score = serializers.FloatField(allow_null=True)
        ai_generated = serializers.BooleanField(allow_null=True)
        created_at = serializers.DateTimeField(allow_null=True)
        pipeline = serializers.DictField(allow_null=True, help_text="name and version")
        provenance_backend = serializers.CharField(allow_null=True)
        video = VideoRef(allow_null=True, help_text="Only when you may see the video.")
        post = PostRef(allow_null=True, help_text="Only when you may see the post.")

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = provenance_lookup(uploaded=data.validated_data["file"], viewer=request.user)
        return Response(found)

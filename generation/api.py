from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from config.api import ApiError, CursorPage, json_error
from generation import intake, services
from generation.models import Job, Upload
from generation.selectors import access_job, access_upload, jobs_for_owner
from generation.storage import media_name_from_token, media_url


class UploadThrottle(UserRateThrottle):
    scope = "upload"


class JobSubmitThrottle(UserRateThrottle):
    scope = "job_submit"


class JobOutputSerializer(serializers.ModelSerializer):
    output_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id", "kind", "state", "progress", "stage", "error_code", "error_message",
            "attempts", "max_attempts", "result", "output_url", "created_at", "started_at",
            "finished_at",
        ]  # fmt: skip

    def get_output_url(self, job: Job) -> str:
        return media_url(job.result.get("output", "")) if job.result else ""


class UploadOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = ["id", "kind", "state", "bytes", "probe", "url", "created_at"]

    def get_url(self, upload: Upload) -> str:
        return media_url(upload.file.name) if upload.state == Upload.State.READY else ""


IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="Repeat-safe submission."
)


class JobListApi(APIView):
    @extend_schema(responses={200: JobOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = CursorPage()
        jobs = page.paginate_queryset(jobs_for_owner(user=request.user), request, view=self)
        return page.get_paginated_response(JobOutputSerializer(jobs, many=True).data)


class JobDetailApi(APIView):
    @extend_schema(responses={200: JobOutputSerializer})
    def get(self, request: Request, job_id: str) -> Response:
        return Response(JobOutputSerializer(access_job(user=request.user, job_id=job_id)).data)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses={200: JobOutputSerializer})
    def post(self, request: Request, job_id: str) -> Response:
        job = services.job_cancel(job=access_job(user=request.user, job_id=job_id))
        return Response(JobOutputSerializer(job).data)


class JobRetryApi(APIView):
    throttle_classes = [JobSubmitThrottle]

    @extend_schema(request=None, responses={202: JobOutputSerializer})
    def post(self, request: Request, job_id: str) -> Response:
        job = services.job_retry(job=access_job(user=request.user, job_id=job_id))
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


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

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload, post = intake.upload_presign(owner=request.user, kind=data.validated_data["kind"])
        body = {"upload": UploadOutputSerializer(upload).data, **post}
        return Response(body, status=status.HTTP_201_CREATED)


class UploadCompleteApi(APIView):
    @extend_schema(request=None, responses={200: UploadOutputSerializer})
    def post(self, request: Request, upload_id: str) -> Response:
        upload = intake.upload_complete(
            upload=access_upload(user=request.user, upload_id=upload_id)
        )
        return Response(UploadOutputSerializer(upload).data)


class UploadTranscodeApi(APIView):
    throttle_classes = [JobSubmitThrottle]

    @extend_schema(request=None, parameters=[IDEMPOTENCY], responses={202: JobOutputSerializer})
    def post(self, request: Request, upload_id: str) -> Response:
        upload = access_upload(user=request.user, upload_id=upload_id)
        if upload.state != Upload.State.READY or upload.kind != Upload.Kind.VIDEO:
            raise ApiError("upload_not_ready", "Only accepted videos can be transcoded.", 409)
        job, _ = services.job_submit(
            owner=request.user,
            kind="media.transcode",
            params={"upload_id": str(upload.id)},
            idempotency_key=request.headers.get("Idempotency-Key", "")[:80],
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def media_serve(request: HttpRequest) -> HttpResponse:
    """Serve a local media file for a signed, unexpired link (embedded storage only)."""
    name = media_name_from_token(request.GET.get("t", ""))
    if name is None or not default_storage.exists(name):
        return json_error("media_link_invalid", "This media link is invalid or has expired.", 404)
    return FileResponse(default_storage.open(name, "rb"))

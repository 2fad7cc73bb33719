"""The job API: list, read, cancel and retry one's own jobs. Progress streams over ws/jobs/."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from accounts.auth import AuthedRequest
from config.api import CursorPage
from config.links import media_url
from config.schema import cursor_page, error
from jobs import services
from jobs.models import Job
from jobs.selectors import access_job, jobs_for_owner


class JobSubmitThrottle(UserRateThrottle):
    """Every endpoint that starts a job shares this budget."""

    scope = "job_submit"


IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="Repeat-safe submission."
)


def idempotency_key(request: Request) -> str:
    return request.headers.get("Idempotency-Key", "")[:80]


class JobOutputSerializer(serializers.ModelSerializer):
    output_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "state",
            "progress",
            "stage",
            "error_code",
            "error_message",
            "attempts",
            "max_attempts",
            "result",
            "output_url",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_output_url(self, job: Job) -> str:
        return media_url(job.result.get("output", "")) if job.result else ""


class JobListApi(APIView):
    @extend_schema(responses={200: cursor_page(JobOutputSerializer)})
    def get(self, request: AuthedRequest) -> Response:
        page = CursorPage()
        jobs = page.paginate_queryset(jobs_for_owner(user=request.user), request, view=self)
        return page.get_paginated_response(JobOutputSerializer(jobs, many=True).data)


class JobDetailApi(APIView):
    @extend_schema(responses={200: JobOutputSerializer})
    def get(self, request: AuthedRequest, job_id: str) -> Response:
        return Response(JobOutputSerializer(access_job(user=request.user, job_id=job_id)).data)


class JobCancelApi(APIView):
    @extend_schema(
        request=None,
        responses={200: JobOutputSerializer, 409: error("The job already ended (`job_finished`).")},
    )
    def post(self, request: AuthedRequest, job_id: str) -> Response:
        job = services.job_cancel(job=access_job(user=request.user, job_id=job_id))
        return Response(JobOutputSerializer(job).data)


class JobRetryApi(APIView):
    throttle_classes = [JobSubmitThrottle]

    @extend_schema(
        request=None,
        responses={
            202: JobOutputSerializer,
            409: error("Only a failed or cancelled job can be retried (`job_not_retryable`)."),
        },
    )
    def post(self, request: AuthedRequest, job_id: str) -> Response:
        job = services.job_retry(job=access_job(user=request.user, job_id=job_id))
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)

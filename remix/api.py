from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import AuthedRequest
from config.errors import ApplicationError
from config.schema import error
from feeds.selectors import access_post, visible_posts
from jobs.api import IDEMPOTENCY, JobOutputSerializer, JobSubmitThrottle
from remix import selectors, services
from remix.models import Remix


class RemixOutputSerializer(serializers.ModelSerializer):
    job = JobOutputSerializer()
    video = serializers.UUIDField(source="video_id", allow_null=True)
    source_post = serializers.IntegerField(source="source_post_id", allow_null=True)
    source_video = serializers.UUIDField(source="source_video_id", allow_null=True)
    cameo = serializers.UUIDField(source="cameo_id", allow_null=True)
    lineage = serializers.ListField(child=serializers.DictField())

    class Meta:
        model = Remix
        fields = [
            "id",
            "operation",
            "method",
            "source_post",
            "source_video",
            "lineage",
            "cameo",
            "background_prompt",
            "dialogue",
            "job",
            "video",
            "created_at",
        ]


class RemixCreatedSerializer(RemixOutputSerializer):
    estimate_s = serializers.FloatField()

    class Meta(RemixOutputSerializer.Meta):
        fields = [*RemixOutputSerializer.Meta.fields, "estimate_s"]


class RemixCreateApi(APIView):
    throttle_classes = [JobSubmitThrottle]

    class InputSerializer(serializers.Serializer):
        source_post_id = serializers.IntegerField(required=False, allow_null=True, default=None)
        source_video_id = serializers.UUIDField(required=False, allow_null=True, default=None)
        operation = serializers.ChoiceField(choices=Remix.Operation.choices)
        cameo_id = serializers.UUIDField(required=False, allow_null=True, default=None)
        background_prompt = serializers.CharField(
            max_length=300, required=False, allow_blank=True, default=""
        )
        background_upload_id = serializers.UUIDField(required=False, allow_null=True, default=None)
        dialogue = serializers.ListField(
            child=serializers.CharField(max_length=200),
            max_length=4,
            required=False,
            default=list,
        )

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            if (data["source_post_id"] is None) == (data["source_video_id"] is None):
                raise serializers.ValidationError(
                    "Give exactly one of source_post_id or source_video_id."
                )
            if data["operation"] == Remix.Operation.SWAP_SUBJECT and not data["cameo_id"]:
                raise serializers.ValidationError({"cameo_id": "A subject swap needs a cameo."})
            if data["operation"] == Remix.Operation.SWAP_BACKGROUND and not (
                data["background_prompt"].strip() or data["background_upload_id"]
            ):
                raise serializers.ValidationError(
                    {"background_prompt": "Describe the new background or upload an image."}
                )
            return data

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY],
        responses={
            202: RemixCreatedSerializer,
            403: error(
                "The author does not allow remixes (`remix_not_allowed`), or a double "
                "you may not use (`cameo_not_permitted`, `cameo_revoked`)."
            ),
            404: error(
                "A source post or video, cameo or background upload that does not "
                "exist or that you may not see."
            ),
            409: error(
                "The source is no longer available (`source_unavailable`), or the "
                "Idempotency-Key was used for another request (`idempotency_conflict`)."
            ),
            429: error(
                "Throttled (`throttled`), or today's budget is spent (`remix_budget_exceeded`)."
            ),
        },
    )
    def post(self, request: AuthedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = data.validated_data
        if found["source_post_id"] is not None:
            source = access_post(viewer=request.user, post_id=found["source_post_id"])
        else:
            by_video = visible_posts(request.user).filter(video_id=found["source_video_id"]).first()
            if by_video is None:
                raise ApplicationError("not_found", "No such video.", 404)
            source = by_video
        remix = services.remix_submit(
            owner=request.user,
            source=source,
            operation=found["operation"],
            cameo_id=found["cameo_id"],
            background_prompt=found["background_prompt"],
            background_upload_id=found["background_upload_id"],
            dialogue=found["dialogue"],
            idempotency_key=request.headers.get("Idempotency-Key", "")[:80],
        )
        body = {
            **RemixOutputSerializer(remix).data,
            "estimate_s": services.estimate_seconds(source.video),
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class RemixDetailApi(APIView):
    @extend_schema(responses={200: RemixOutputSerializer})
    def get(self, request: AuthedRequest, remix_id: str) -> Response:
        remix = selectors.access_remix(user=request.user, remix_id=remix_id)
        return Response(RemixOutputSerializer(remix).data)


class LineageApi(APIView):
    """Where a post came from: its chain of sources, root first, ending with the post itself."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        post = serializers.IntegerField()
        video = serializers.CharField(allow_null=True)
        author = serializers.CharField(allow_null=True)
        visible = serializers.BooleanField()

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request: Request, post_id: int) -> Response:
        viewer = request.user if request.user.is_authenticated else None
        post = access_post(viewer=viewer, post_id=post_id)
        chain = selectors.lineage_of(post)
        visible = set(
            visible_posts(viewer)
            .filter(pk__in=[e["post"] for e in chain])
            .values_list("pk", flat=True)
        )
        # An ancestor the viewer may not see is shown as a bare id: the chain stays whole.
        body = [
            {
                "post": e["post"],
                "video": e["video"] if e["post"] in visible else None,
                "author": e["author"] if e["post"] in visible else None,
                "visible": e["post"] in visible,
            }
            for e in chain
        ]
        return Response(body)

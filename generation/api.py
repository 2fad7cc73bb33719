"""The generation API: plan a storyboard from a prompt, and submit a generation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import AuthedRequest
from config.schema import error
from generation.generations import (
    CastRequest,
    estimate_seconds,
    generation_submit,
    storyboard_from_request,
)
from generation.pipeline.storyboard import ASPECTS, MOODS, SETTINGS, STYLES
from jobs.api import IDEMPOTENCY, JobOutputSerializer, JobSubmitThrottle, idempotency_key


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
    # `style` is the API's name; as a declared field it shadows Field.style in the stubs.
    style = serializers.ChoiceField(choices=STYLES, default="natural")  # type: ignore[assignment]
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
    def post(self, request: AuthedRequest) -> Response:
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
    def post(self, request: AuthedRequest) -> Response:
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

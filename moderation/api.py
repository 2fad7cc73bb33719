"""Reports from anyone signed in; the review queue for moderators."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from accounts.api import LoginAddressThrottle, LoginUsernameThrottle
from accounts.auth import AuthedRequest
from config.api import CursorPage
from config.schema import cursor_page, error
from moderation import services
from moderation.decisions import NO_VIOLATION, case_decide
from moderation.models import Case, Decision, Reason, Report, ReporterStanding
from moderation.selectors import access_case, cases_open

NOT_A_MODERATOR = error("Only moderators work the queue (`permission_denied`).")


class ReportThrottle(UserRateThrottle):
    scope = "report"


class QueuePage(CursorPage):
    # DRF takes a tuple here (stubs say str): the worst first, the oldest of equals first.
    ordering = ("-severity", "created_at")  # type: ignore[assignment]


class IsModerator(BasePermission):
    """Staff with the moderation permission (the moderator and senior moderator groups)."""

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.is_staff
            and user.has_perm("moderation.view_case")
        )


class CaseOutputSerializer(serializers.ModelSerializer):
    claimed_by = serializers.CharField(source="claimed_by.username", default=None)

    class Meta:
        model = Case
        fields = [
            "id",
            "target_kind",
            "target_id",
            "state",
            "queue",
            "reasons",
            "report_count",
            "severity",
            "claimed_by",
            "lease_until",
            "created_at",
        ]


class ReportCreateApi(APIView):
    throttle_classes = [ReportThrottle]

    class InputSerializer(serializers.Serializer):
        target_kind = serializers.ChoiceField(choices=Case.Target.choices)
        target_id = serializers.CharField(max_length=64)
        reason = serializers.ChoiceField(choices=Reason.choices)
        text = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.ModelSerializer):
        case = serializers.IntegerField(source="case_id")

        class Meta:
            model = Report
            fields = ["id", "case", "reason", "text", "created_at"]

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            404: error("Nothing you can see has that id (`not_found`)."),
        },
    )
    def post(self, request: AuthedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.report_file(reporter=request.user, **data.validated_data)
        return Response(self.OutputSerializer(report).data, status=status.HTTP_201_CREATED)


class CaseQueueApi(APIView):
    """The open cases this moderator may work, most severe first."""

    permission_classes = [IsModerator]

    @extend_schema(
        responses={200: cursor_page(CaseOutputSerializer), 403: NOT_A_MODERATOR},
    )
    def get(self, request: AuthedRequest) -> Response:
        page = QueuePage()
        rows = page.paginate_queryset(cases_open(moderator=request.user), request, self)
        return page.get_paginated_response(CaseOutputSerializer(rows, many=True).data)


class CaseClaimApi(APIView):
    """Take the next case: the most severe one nobody else is working."""

    permission_classes = [IsModerator]

    @extend_schema(
        request=None,
        responses={200: CaseOutputSerializer, 204: None, 403: NOT_A_MODERATOR},
    )
    def post(self, request: AuthedRequest) -> Response:
        case = services.case_claim(moderator=request.user)
        if case is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(CaseOutputSerializer(case).data)


class DecisionCreateApi(APIView):
    """Decide a case you have claimed: the action is taken, audited, and the person it is
    about is sent a statement of reasons (GET /api/v1/notifications/)."""

    permission_classes = [IsModerator]

    class InputSerializer(serializers.Serializer):
        case_id = serializers.IntegerField()
        action = serializers.ChoiceField(choices=Decision.Action.choices)
        ground = serializers.CharField(
            max_length=20, required=False, allow_blank=True, default=NO_VIOLATION
        )
        facts = serializers.CharField(max_length=4000)
        cameo_id = serializers.CharField(max_length=64, required=False, default=None)

    class OutputSerializer(serializers.ModelSerializer):
        case = serializers.IntegerField(source="case_id")
        moderator = serializers.CharField(source="moderator.username", default=None)

        class Meta:
            model = Decision
            fields = ["id", "case", "moderator", "action", "ground", "facts", "statement"]

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            400: error(
                "Not an action for this kind of target (`action_not_applicable`), "
                "no rule named (`ground_invalid`), or no cameo of this case named "
                "(`cameo_required`, `cameo_not_in_case`)."
            ),
            403: error(
                "Not a moderator (`permission_denied`), or an action only a senior "
                "moderator takes (`senior_moderator_only`)."
            ),
            404: error("No case you may work has that id (`not_found`)."),
            409: error("Not claimed by you (`case_not_claimed`), or decided (`case_decided`)."),
        },
    )
    def post(self, request: AuthedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        case = access_case(moderator=request.user, case_id=fields.pop("case_id"))
        decision = case_decide(case=case, moderator=request.user, **fields)
        return Response(self.OutputSerializer(decision).data, status=status.HTTP_201_CREATED)


class AppealCreateApi(APIView):
    """Contest a takedown of your post or your suspension, once: another moderator decides."""

    throttle_classes = [ReportThrottle]

    class InputSerializer(serializers.Serializer):
        decision_id = serializers.IntegerField()
        text = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        case = serializers.IntegerField(source="pk")
        state = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            404: error("No decision about you has that id (`not_found`)."),
            409: error(
                "Appealed already (`appeal_exists`), or not a takedown or suspension "
                "(`decision_not_appealable`)."
            ),
        },
    )
    def post(self, request: AuthedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.appeal_file(appellant=request.user, **data.validated_data)
        return Response(self.OutputSerializer(case).data, status=status.HTTP_201_CREATED)


class CaseReleaseApi(APIView):
    """Hand a claimed case back to the queue without deciding it."""

    permission_classes = [IsModerator]

    @extend_schema(
        request=None,
        responses={
            200: CaseOutputSerializer,
            403: NOT_A_MODERATOR,
            404: error("No case you may work has that id (`not_found`)."),
            409: error("Not claimed by you (`case_not_claimed`)."),
        },
    )
    def post(self, request: AuthedRequest, case_id: int) -> Response:
        case = access_case(moderator=request.user, case_id=case_id)
        case = services.case_release(case=case, moderator=request.user)
        return Response(CaseOutputSerializer(case).data)


class ReporterMarkApi(APIView):
    """Mark a reporter as filing in bad faith (or clear the mark): their reports weigh a
    tenth of anyone else's, on open cases at once."""

    permission_classes = [IsModerator]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        bad_faith = serializers.BooleanField()
        reason = serializers.CharField(max_length=2000)

    class OutputSerializer(serializers.ModelSerializer):
        username = serializers.CharField(source="user.username")
        marked_by = serializers.CharField(source="marked_by.username", default=None)

        class Meta:
            model = ReporterStanding
            fields = ["username", "bad_faith", "reason", "marked_by", "marked_at"]

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            403: NOT_A_MODERATOR,
            404: error("No such user (`not_found`)."),
        },
    )
    def post(self, request: AuthedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        standing = services.reporter_mark(moderator=request.user, **data.validated_data)
        return Response(self.OutputSerializer(standing).data)


class SuspensionAppealApi(APIView):
    """A suspended account appeals its suspension with its password: it has no token, and
    this signs it in nowhere. Throttled like a login."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginAddressThrottle, LoginUsernameThrottle]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, write_only=True)
        text = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: AppealCreateApi.OutputSerializer,
            401: error("Wrong username or password, or not suspended (`invalid_credentials`)."),
            404: error("No suspension to appeal (`not_found`)."),
            409: error("Appealed already (`appeal_exists`)."),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.suspension_appeal(**data.validated_data)
        return Response(AppealCreateApi.OutputSerializer(case).data, status=status.HTTP_201_CREATED)

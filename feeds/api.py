from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import AuthedRequest
from accounts.models import User
from config.errors import ApplicationError
from config.links import media_url
from config.schema import CHRONOLOGICAL, FOR_YOU, error, feed_page
from feeds import selectors, services
from feeds.models import Comment, Hashtag, Post, TopicWeight
from media.api import UploadThrottle, VideoOutputSerializer
from media.lookup import provenance_lookup


class PostCardSerializer(serializers.ModelSerializer):
    """Everything a client needs to lay out and play a post before its media loads."""

    author = serializers.SerializerMethodField()
    hashtags: serializers.SlugRelatedField[Hashtag] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name"
    )
    video = serializers.SerializerMethodField()
    credits = serializers.SerializerMethodField()
    remix_of = serializers.SerializerMethodField()
    provenance = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = [
            "id",
            "author",
            "caption",
            "hashtags",
            "visibility",
            "video",
            "credits",
            "remix_of",
            "remix_count",
            "allow_remix",
            "like_count",
            "comment_count",
            "share_count",
            "view_count",
            "provenance",
            "created_at",
        ]

    def get_author(self, post: Post) -> dict[str, str]:
        return {"username": post.author.username, "display_name": post.author.display_name}

    def get_video(self, post: Post) -> dict[str, Any]:
        video = post.video
        return {
            "url": media_url(video.file),
            "poster_url": media_url(video.poster),
            "preview_url": media_url(video.preview),
            "subtitles_url": media_url(video.subtitles),
            "width": video.width,
            "height": video.height,
            "duration_s": video.duration_s,
        }

    def get_credits(self, post: Post) -> list[dict[str, str]]:
        return [
            {"cameo": str(a.cameo_id), "owner": a.cameo.owner.username}
            for a in post.video.appearances.all()
            if a.taken_down_at is None
        ]

    def get_remix_of(self, post: Post) -> dict[str, Any] | None:
        source = post.remix_of
        return {"id": source.id, "author": source.author.username} if source else None

    def get_provenance(self, post: Post) -> dict[str, Any]:
        return {
            "generated": bool(post.video.manifest.get("generated")),
            "backend": post.video.provenance_backend,
        }


def _page(posts: list[Post], next_cursor: str | None, request: Request) -> Response:
    return Response({"next": next_cursor, "results": PostCardSerializer(posts, many=True).data})


def _keyset(queryset: Any, request: Request) -> Response:
    """Newest first, paged by id: a new post never shifts a page already read."""
    before = request.query_params.get("before")
    if before:
        try:
            queryset = queryset.filter(id__lt=int(before))
        except ValueError:
            raise ApplicationError("invalid_cursor", "`before` must be a post id.", 400) from None
    posts = list(selectors.with_cards(queryset.order_by("-id"))[: selectors.PAGE + 1])
    more = len(posts) > selectors.PAGE
    posts = posts[: selectors.PAGE]
    return _page(posts, str(posts[-1].id) if more else None, request)


class PublishApi(APIView):
    class InputSerializer(serializers.Serializer):
        caption = serializers.CharField(
            max_length=500, required=False, allow_blank=True, default=""
        )
        visibility = serializers.ChoiceField(choices=Post.Visibility.choices, default="public")

    @extend_schema(
        request=InputSerializer,
        responses={201: PostCardSerializer, 409: error("Published already (`video_not_draft`).")},
    )
    def post(self, request: AuthedRequest, video_id: str) -> Response:
        video = selectors.access_video(user=request.user, video_id=video_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.post_publish(
            video=video,
            author=request.user,
            remix_of=selectors.remix_source_of(video),  # a remix is published as one
            **data.validated_data,
        )
        card = selectors.with_cards(Post.objects.filter(pk=post.pk)).get()
        return Response(PostCardSerializer(card).data, status=status.HTTP_201_CREATED)


class PostDetailApi(APIView):
    permission_classes = [AllowAny]

    class UpdateSerializer(serializers.Serializer):
        allow_remix = serializers.BooleanField(required=False)
        caption = serializers.CharField(max_length=500, required=False, allow_blank=True)

    @extend_schema(responses={200: PostCardSerializer})
    def get(self, request: Request, post_id: int) -> Response:
        viewer = request.user if request.user.is_authenticated else None
        post = selectors.access_post(viewer=viewer, post_id=post_id)
        return Response(
            PostCardSerializer(selectors.with_cards(Post.objects.filter(pk=post.pk)).get()).data
        )

    @extend_schema(request=UpdateSerializer, responses={200: PostCardSerializer})
    def patch(self, request: Request, post_id: int) -> Response:
        if not request.user.is_authenticated:
            raise ApplicationError("not_authenticated", "Log in to edit a post.", 401)
        post = selectors.access_post(viewer=request.user, post_id=post_id)
        if post.author_id != request.user.pk:
            raise ApplicationError("permission_denied", "Only the author may edit a post.", 403)
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.post_update(post=post, **data.validated_data)
        return Response(
            PostCardSerializer(selectors.with_cards(Post.objects.filter(pk=post.pk)).get()).data
        )


LIKE_STATE = inline_serializer(
    "LikeState", {"liked": serializers.BooleanField(), "like_count": serializers.IntegerField()}
)
STEERING = inline_serializer(
    "Steering", {"weights": serializers.DictField(child=serializers.FloatField())}
)
SHARED = inline_serializer("Shared", {"shared": serializers.BooleanField()})
VIEWED = inline_serializer("Viewed", {"completed": serializers.BooleanField()})


class LikeApi(APIView):
    @extend_schema(request=None, responses={200: LIKE_STATE})
    def post(self, request: AuthedRequest, post_id: int) -> Response:
        post = selectors.access_post(viewer=request.user, post_id=post_id)
        services.post_like(post=post, user=request.user)
        return Response({"liked": True, "like_count": Post.objects.get(pk=post.pk).like_count})

    @extend_schema(request=None, responses={200: LIKE_STATE})
    def delete(self, request: AuthedRequest, post_id: int) -> Response:
        post = selectors.access_post(viewer=request.user, post_id=post_id)
        services.post_unlike(post=post, user=request.user)
        return Response({"liked": False, "like_count": Post.objects.get(pk=post.pk).like_count})


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "parent", "created_at"]


class CommentListApi(APIView):
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=1000)
        # `parent` is the API's name; as a declared field it shadows Field.parent in the stubs.
        parent = serializers.IntegerField(  # type: ignore[assignment]
            required=False, allow_null=True, default=None
        )

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(responses={200: CommentSerializer(many=True)})
    def get(self, request: Request, post_id: int) -> Response:
        viewer = request.user if request.user.is_authenticated else None
        post = selectors.access_post(viewer=viewer, post_id=post_id)
        rows = post.comments.select_related("author").order_by("id")[:200]
        return Response(CommentSerializer(rows, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CommentSerializer})
    def post(self, request: AuthedRequest, post_id: int) -> Response:
        post = selectors.access_post(viewer=request.user, post_id=post_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        parent = None
        if data.validated_data["parent"] is not None:
            parent = get_object_or_404(Comment, pk=data.validated_data["parent"], post=post)
        comment = services.post_comment(
            post=post, user=request.user, body=data.validated_data["body"], parent=parent
        )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class ShareApi(APIView):
    @extend_schema(
        request=inline_serializer("ShareInput", {"channel": serializers.CharField(required=False)}),
        responses={201: SHARED},
    )
    def post(self, request: AuthedRequest, post_id: int) -> Response:
        post = selectors.access_post(viewer=request.user, post_id=post_id)
        services.post_share(
            post=post, user=request.user, channel=str(request.data.get("channel", ""))[:30]
        )
        return Response({"shared": True}, status=status.HTTP_201_CREATED)


class ViewEventApi(APIView):
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        watch_ms = serializers.IntegerField(min_value=0, max_value=3_600_000)

    @extend_schema(request=InputSerializer, responses={201: VIEWED})
    def post(self, request: Request, post_id: int) -> Response:
        viewer = request.user if request.user.is_authenticated else None
        post = selectors.access_post(viewer=viewer, post_id=post_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        view = services.post_view(post=post, user=viewer, watch_ms=data.validated_data["watch_ms"])
        return Response({"completed": view.completed}, status=status.HTTP_201_CREATED)


class TakedownApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "TakenDown", {"id": serializers.IntegerField(), "state": serializers.CharField()}
            )
        },
    )
    def post(self, request: AuthedRequest, post_id: int) -> Response:
        post = selectors.access_post(viewer=request.user, post_id=post_id)
        if post.author_id != request.user.pk and not request.user.is_staff:
            raise ApplicationError(
                "permission_denied", "Only the author or a moderator may do that.", 403
            )
        reason = "author" if post.author_id == request.user.pk else "moderator"
        services.post_take_down(post=post, actor=request.user, reason=reason)
        return Response({"id": post.id, "state": "taken_down"})


class ForYouApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: feed_page(PostCardSerializer, FOR_YOU)})
    def get(self, request: Request) -> Response:
        viewer = request.user if request.user.is_authenticated else None
        posts, cursor = selectors.for_you_page(viewer, request.query_params.get("cursor"))
        return _page(posts, cursor, request)


class FollowingApi(APIView):
    @extend_schema(responses={200: feed_page(PostCardSerializer, CHRONOLOGICAL)})
    def get(self, request: AuthedRequest) -> Response:
        return _keyset(selectors.following_feed(request.user), request)


class ProfileFeedApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: feed_page(PostCardSerializer, CHRONOLOGICAL)})
    def get(self, request: Request, username: str) -> Response:
        author = get_object_or_404(User, username=username)
        viewer = request.user if request.user.is_authenticated else None
        return _keyset(selectors.profile_feed(viewer, author), request)


class HashtagFeedApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: feed_page(PostCardSerializer, CHRONOLOGICAL)})
    def get(self, request: Request, tag: str) -> Response:
        viewer = request.user if request.user.is_authenticated else None
        return _keyset(selectors.hashtag_feed(viewer, tag), request)


class RemixFeedApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: feed_page(PostCardSerializer, CHRONOLOGICAL)})
    def get(self, request: Request, post_id: int) -> Response:
        viewer = request.user if request.user.is_authenticated else None
        post = selectors.access_post(viewer=viewer, post_id=post_id)
        return _keyset(selectors.remixes_feed(viewer, post), request)


class FollowApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None, 400: error("You cannot follow yourself (`follow_self`).")},
    )
    def post(self, request: AuthedRequest, username: str) -> Response:
        services.follow(follower=request.user, followee=get_object_or_404(User, username=username))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: AuthedRequest, username: str) -> Response:
        services.unfollow(
            follower=request.user, followee=get_object_or_404(User, username=username)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SteeringApi(APIView):
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=300)

    @extend_schema(responses={200: STEERING})
    def get(self, request: AuthedRequest) -> Response:
        weights = TopicWeight.objects.filter(user=request.user).values_list("topic", "weight")
        return Response({"weights": dict(weights)})

    @extend_schema(
        request=InputSerializer,
        responses={200: STEERING},
    )
    def post(self, request: AuthedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        weights = services.feed_steer(user=request.user, text=data.validated_data["text"])
        return Response({"weights": weights})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: AuthedRequest) -> Response:
        services.feed_steer_reset(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Videos: as visible as their posts ---------------------------------------------------
class VideoDetailApi(APIView):
    @extend_schema(responses={200: VideoOutputSerializer})
    def get(self, request: AuthedRequest, video_id: str) -> Response:
        return Response(
            VideoOutputSerializer(selectors.access_video(user=request.user, video_id=video_id)).data
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
        credentials = serializers.DictField(
            allow_null=True,
            help_text="The provenance manifest: the file's own when it still carries a valid "
            "one (source embedded), else the one kept here for the matched video (source "
            "stored, found by its soft binding; redacted to how it was made unless you may "
            "see the video).",
        )

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = request.user if request.user.is_authenticated else None
        found = provenance_lookup(
            uploaded=data.validated_data["file"],
            visible_videos=selectors.visible_videos(viewer),
            visible_posts=selectors.visible_posts(viewer),
        )
        return Response(found)

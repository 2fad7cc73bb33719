from __future__ import annotations

from django.urls import path

from feeds import api

urlpatterns = [
    path("videos/<str:video_id>/", api.VideoDetailApi.as_view(), name="video-detail"),
    path("provenance/lookup/", api.ProvenanceLookupApi.as_view(), name="provenance-lookup"),
    path("videos/<str:video_id>/publish/", api.PublishApi.as_view(), name="video-publish"),
    path("posts/<int:post_id>/", api.PostDetailApi.as_view(), name="post-detail"),
    path("posts/<int:post_id>/like/", api.LikeApi.as_view(), name="post-like"),
    path("posts/<int:post_id>/comments/", api.CommentListApi.as_view(), name="post-comments"),
    path("posts/<int:post_id>/share/", api.ShareApi.as_view(), name="post-share"),
    path("posts/<int:post_id>/views/", api.ViewEventApi.as_view(), name="post-view"),
    path("posts/<int:post_id>/takedown/", api.TakedownApi.as_view(), name="post-takedown"),
    path("posts/<int:post_id>/remixes/", api.RemixFeedApi.as_view(), name="post-remixes"),
    path("feeds/for-you/", api.ForYouApi.as_view(), name="feed-for-you"),
    path("feeds/following/", api.FollowingApi.as_view(), name="feed-following"),
    path("feeds/steering/", api.SteeringApi.as_view(), name="feed-steering"),
    path("users/<str:username>/posts/", api.ProfileFeedApi.as_view(), name="feed-profile"),
    path("users/<str:username>/follow/", api.FollowApi.as_view(), name="user-follow"),
    path("hashtags/<str:tag>/posts/", api.HashtagFeedApi.as_view(), name="feed-hashtag"),
]

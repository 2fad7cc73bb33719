"""One user's world: an object of every kind the API fetches by a path parameter, for the
tests that walk the published schema (test_bola.py, test_schemathesis.py).

`ids` maps each path parameter name to this user's objects of that kind; the first one is
one the user can read back themselves. Everything but the one public post is not public,
and `secrets` holds what only someone allowed to see it could ever be shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.models import User
from consent.models import Appearance
from consent.services import grant_request
from feeds.models import Post
from feeds.services import post_comment, post_publish, post_take_down
from jobs.models import Job
from media.models import Upload, Video
from moderation.models import Case
from remix.models import Remix
from rights.models import License, Mark, RightsHolder
from tests.factories import make_verified_cameo

# Path parameters that name something public (a profile, a hashtag): others may get 2xx on
# them, as long as nothing non-public comes back.
PUBLIC_KEYS = frozenset({"username", "tag"})


@dataclass
class World:
    user: User
    ids: dict[str, list[str]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


def _video(owner: User, prompt: str) -> Video:
    return Video.objects.create(owner=owner, prompt=prompt, width=720, height=1280, duration_s=5.0)


def _post(owner: User, marker: str, tag: str, visibility: str) -> Post:
    caption = f"#{tag} {marker} {visibility}" if visibility != "public" else f"#{tag} hello"
    return post_publish(
        video=_video(owner, f"a {visibility} video"),
        author=owner,
        caption=caption,
        visibility=visibility,
    )


def build_world(user: User, *, grantee: User) -> World:
    """`grantee` asks for a grant on the user's cameo, so that there is one to decide."""
    marker = f"secret{user.pk}x"
    tag = f"world{user.pk}"
    cameo = make_verified_cameo(user, audience="only_me")
    cameo.instructions = f"{marker} instructions"
    cameo.save(update_fields=["instructions"])
    job = Job.objects.create(owner=user, kind="media.transcode", params={"note": marker})
    upload = Upload(owner=user, kind=Upload.Kind.VIDEO, extension="mp4", bytes=16)
    upload.file.name = default_storage.save(
        f"uploads/{user.pk}/{upload.id.hex}.mp4", ContentFile(b"\x00\x00\x00\x18ftypisom")
    )
    upload.save()
    draft = _video(user, f"{marker} draft")
    public = _post(user, marker, tag, "public")
    private = _post(user, marker, tag, "private")
    followers = _post(user, marker, tag, "followers")
    doomed = _post(user, marker, tag, "public")
    taken_down = post_take_down(post=doomed, actor=user, reason="author")
    post_comment(post=private, user=user, body=f"{marker} comment")
    grant = grant_request(cameo=cameo, grantee=grantee, note=f"{marker} note")
    appearance = Appearance.objects.create(cameo=cameo, used_by=user, job=job, video=draft)
    remix = Remix.objects.create(
        owner=user,
        operation=Remix.Operation.SWAP_BACKGROUND,
        source_post=public,
        source_video=public.video,
        background_prompt=f"{marker} beach",
        job=Job.objects.create(owner=user, kind="remix.render"),
    )
    # a case on the private post: only a moderator may work it, never its author
    case = Case.objects.create(target_kind="post", target_id=str(private.pk), report_count=1)
    hidden_posts = [private, followers, taken_down]
    world = World(user=user)
    world.ids = {
        "job_id": [str(job.id)],
        "upload_id": [str(upload.id)],
        "capture_id": [str(cameo.capture_id)],
        "cameo_id": [str(cameo.id)],
        "grant_id": [str(grant.pk)],
        "appearance_id": [str(appearance.pk)],
        "remix_id": [str(remix.id)],
        "case_id": [str(case.pk)],
        "post_id": [str(p.pk) for p in hidden_posts],
        "video_id": [str(draft.id), *(str(p.video_id) for p in hidden_posts)],
        "username": [user.username],
        "tag": [tag],
    }
    hidden_ids = [job.id, upload.id, cameo.id, cameo.capture_id, remix.id, remix.job_id]
    world.secrets = [marker, *world.ids["video_id"], *(str(i) for i in hidden_ids)]
    holder = RightsHolder.objects.create(
        owner=user, display_name=f"{marker} holder", contact=f"{marker}@example.com"
    )
    mark = Mark.objects.create(
        holder=holder,
        kind=Mark.Kind.NAME,
        name=f"{marker} mark",
        policy=Mark.Policy.LICENSED,
        terms=[f"{marker} mark"],
    )
    grant_of_mark = License.objects.create(mark=mark, licensee=grantee, granted_by=user)
    world.ids.update(
        {
            "holder_id": [str(holder.id)],
            "mark_id": [str(mark.id)],
            "license_id": [str(grant_of_mark.pk)],
        }
    )
    world.secrets += [str(holder.id), str(mark.id)]
    return world

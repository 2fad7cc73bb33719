"""The feed preview page in a real browser (Debian's headless Chromium, driven by Selenium)
against the live server: the grid renders, scrolling loads the next page, a clip opens and
plays, and swiping goes to the next post."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests import media
from tests.browser import wait_until

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def published(service_env: dict[str, str], tmp_path: Path) -> list[Any]:
    """25 public posts by 25 creators, with real media in the live server's storage."""
    from feeds.services import post_publish
    from media.models import Video
    from tests.factories import UserFactory

    root = Path(service_env["DOUBLETAKE_VAR_DIR"]) / "media" / "preview-test"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    clip = media.make_clip(root / "clip.mp4", seconds=3, size="180x320", source="testsrc2")
    media.ffmpeg("-i", str(clip), "-frames:v", "1", str(root / "poster.jpg"))
    words = [
        "apple",
        "bridge",
        "candle",
        "dune",
        "ember",
        "fjord",
        "grove",
        "harbor",
        "island",
        "jungle",
        "kettle",
        "lagoon",
        "meadow",
        "nebula",
        "orchard",
        "prairie",
        "quartz",
        "river",
        "summit",
        "tundra",
        "umbra",
        "valley",
        "willow",
        "xylem",
        "yonder",
    ]
    posts = []
    for word in words:
        video = Video.objects.create(
            owner=UserFactory(),
            file="preview-test/clip.mp4",
            poster="preview-test/poster.jpg",
            preview="preview-test/clip.mp4",
            width=180,
            height=320,
            duration_s=3.0,
            prompt=f"a {word} at dawn",
            manifest={"generated": True},
            provenance_backend="c2pa",
        )
        posts.append(
            post_publish(
                video=video, author=video.owner, caption=f"{word} #preview", visibility="public"
            )
        )
    return posts


def test_the_grid_scrolls_opens_a_clip_that_plays_and_swipes_on(
    live_url: str, published: list[Any], browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"http://{live_url}/")
    cards = lambda: browser.find_elements(By.CSS_SELECTOR, ".card")  # noqa: E731
    wait_until(lambda: len(cards()) >= 20, what="the first page of cards")
    assert len(cards()) == 20
    # each card has its layout before its poster loads: height follows the post's shape
    first = cards()[0]
    frame = first.find_element(By.CSS_SELECTOR, ".frame")
    assert abs(frame.size["height"] / frame.size["width"] - 320 / 180) < 0.05
    # scrolling loads the next page through the same API
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    wait_until(lambda: len(cards()) == 25, what="the second page")
    wait_until(lambda: "caught up" in browser.find_element(By.ID, "status").text, what="the end")
    # a click opens the vertical player and the clip plays
    browser.execute_script("window.scrollTo(0, 0)")
    cards()[0].click()
    player = browser.find_element(By.ID, "player")
    wait_until(player.is_displayed, what="the player")
    playing = (
        "const v = document.querySelectorAll('.slide video')[{i}];"
        "return v && !v.paused && v.currentTime > 0.3 && v.readyState >= 2;"
    )
    wait_until(lambda: browser.execute_script(playing.format(i=0)), what="the first clip to play")
    overlay = browser.find_elements(By.CSS_SELECTOR, ".slide .overlay")[0].text
    assert f"@{published[0].author.username}" in overlay or "@" in overlay
    assert "AI-generated" in overlay
    # a swipe (the down key) moves to the next post, which plays in turn
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_DOWN)
    wait_until(lambda: browser.execute_script(playing.format(i=1)), what="the next clip to play")
    assert browser.execute_script("return document.querySelectorAll('.slide video')[0].paused")
    # and the page's Content-Security-Policy blocked nothing it needs
    blocked = [
        e["message"]
        for e in browser.get_log("browser")
        if "Content Security Policy" in e["message"]
    ]
    assert blocked == []

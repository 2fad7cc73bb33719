"""The feed preview page in a real browser (Debian's headless Chromium, driven by Selenium)
against the live server: the grid renders, scrolling loads the next page, a clip opens and
plays, and swiping goes to the next post."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import media

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("Chromium is missing: make test installs chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,900",
        "--autoplay-policy=no-user-gesture-required",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


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


def _wait(check: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(what)


def test_the_grid_scrolls_opens_a_clip_that_plays_and_swipes_on(
    live_url: str, published: list[Any], browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"http://{live_url}/")
    cards = lambda: browser.find_elements(By.CSS_SELECTOR, ".card")  # noqa: E731
    _wait(lambda: len(cards()) >= 20, what="the first page of cards")
    assert len(cards()) == 20
    # each card has its layout before its poster loads: height follows the post's shape
    first = cards()[0]
    frame = first.find_element(By.CSS_SELECTOR, ".frame")
    assert abs(frame.size["height"] / frame.size["width"] - 320 / 180) < 0.05
    # scrolling loads the next page through the same API
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    _wait(lambda: len(cards()) == 25, what="the second page")
    _wait(lambda: "caught up" in browser.find_element(By.ID, "status").text, what="the end")
    # a click opens the vertical player and the clip plays
    browser.execute_script("window.scrollTo(0, 0)")
    cards()[0].click()
    player = browser.find_element(By.ID, "player")
    _wait(player.is_displayed, what="the player")
    playing = (
        "const v = document.querySelectorAll('.slide video')[{i}];"
        "return v && !v.paused && v.currentTime > 0.3 && v.readyState >= 2;"
    )
    _wait(lambda: browser.execute_script(playing.format(i=0)), what="the first clip to play")
    overlay = browser.find_elements(By.CSS_SELECTOR, ".slide .overlay")[0].text
    assert f"@{published[0].author.username}" in overlay or "@" in overlay
    assert "AI-generated" in overlay
    # a swipe (the down key) moves to the next post, which plays in turn
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_DOWN)
    _wait(lambda: browser.execute_script(playing.format(i=1)), what="the next clip to play")
    assert browser.execute_script("return document.querySelectorAll('.slide video')[0].paused")
    # and the page's Content-Security-Policy blocked nothing it needs
    blocked = [
        e["message"]
        for e in browser.get_log("browser")
        if "Content Security Policy" in e["message"]
    ]
    assert blocked == []

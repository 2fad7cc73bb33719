"""The encode stage: argv built without ffmpeg, then real encodes checked by decoding them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from generation.pipeline import encode as stage
from generation.pipeline.audio import Soundtrack, build_soundtrack
from generation.pipeline.ffmpeg import FfmpegError
from generation.pipeline.probe import sniff
from generation.pipeline.subtitles import burn_in_filter, write_webvtt
from generation.pipeline.timeline import DialogueLine, ShotSpan, SoundEvent, SpokenLine, Timeline

FPS, WIDTH, HEIGHT = 24, 144, 256


def moving_bars(count: int, shade: int = 90) -> Iterator[np.ndarray]:
    for index in range(count):
        frame = np.full((HEIGHT, WIDTH, 3), shade, dtype=np.uint8)
        frame[:, (index * 5) % WIDTH :, 0] = 220
        yield frame


def top_level_boxes(path: Path) -> list[str]:
    names, offset, data = [], 0, path.read_bytes()
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        names.append(data[offset + 4 : offset + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        offset += size if size >= 8 else len(data)
    return names


@pytest.fixture(scope="module")
def soundtrack(tmp_path_factory: pytest.TempPathFactory) -> Soundtrack:
    timeline = Timeline(
        fps=FPS,
        duration_s=2.0,
        width=WIDTH,
        height=HEIGHT,
        shots=[ShotSpan(0, 0.0, 1.0, "medium", "static"), ShotSpan(1, 1.0, 2.0, "wide", "pan")],
        dialogue=[DialogueLine("Ada", "Hi there.", 0.4)],
        events=[SoundEvent("footstep", 1.5)],
        setting="street",
        mood="funny",
    )
    return build_soundtrack(timeline, tmp_path_factory.mktemp("encode") / "mix.wav")


@pytest.fixture(scope="module")
def clip(soundtrack: Soundtrack, tmp_path_factory: pytest.TempPathFactory) -> stage.EncodeResult:
    out = tmp_path_factory.mktemp("encode") / "clip.mp4"
    return stage.encode(
        moving_bars(2 * FPS),
        fps=FPS,
        width=WIDTH,
        height=HEIGHT,
        audio_wav=soundtrack.wav,
        out_mp4=out,
        preset="ultrafast",
    )


# --- argv, without running ffmpeg --------------------------------------------------------------
def test_encode_args_read_raw_rgb_from_stdin_and_ask_for_h264_aac_faststart() -> None:
    argv = stage.encode_args(
        fps=24, width=720, height=1280, audio_wav=Path("mix.wav"), out_mp4=Path("out.mp4")
    )
    joined = " ".join(argv)
    pieces = ["-f rawvideo", "-pix_fmt rgb24", "-s 720x1280", "-framerate 24", "-i pipe:"]
    pieces += ["-vcodec libx264", "-pix_fmt yuv420p", "-acodec aac", "-movflags +faststart"]
    pieces += ["-crf 20", "-preset veryfast", "-i mix.wav", "-af apad", "-shortest"]
    for piece in pieces:
        assert piece in joined, piece
    assert "out.mp4" in argv and "-y" in argv


def test_encode_args_without_a_soundtrack_ask_for_no_audio() -> None:
    argv = stage.encode_args(fps=24, width=144, height=256, audio_wav=None, out_mp4=Path("o.mp4"))
    assert "-acodec" not in argv and "-shortest" not in argv and argv.count("-i") == 1


def test_encode_args_refuse_odd_sizes() -> None:
    with pytest.raises(ValueError, match="even sizes"):
        stage.encode_args(fps=24, width=145, height=256, audio_wav=None, out_mp4=Path("o.mp4"))


def test_preview_and_poster_args_scale_down_mute_and_take_one_frame() -> None:
    preview = " ".join(stage.preview_args(Path("a.mp4"), Path("p.mp4"), seconds=3, height=480))
    assert "-t 3.000" in preview and "min(480,ih)" in preview and "-an" in preview
    poster = stage.poster_args(Path("a.mp4"), Path("p.jpg"), 1.5)
    assert poster[poster.index("-ss") + 1] == "1.500" and "-frames:v" in poster


# --- Real encodes -------------------------------------------------------------------------------
def test_an_encoded_clip_has_every_frame_the_sound_and_the_layout_asked_for(
    clip: stage.EncodeResult,
) -> None:
    import av

    info = clip.probe
    assert abs(info.duration_s - 2.0) <= 1 / FPS
    assert (info.width, info.height, info.fps) == (WIDTH, HEIGHT, FPS)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    with av.open(str(clip.path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 2 * FPS == clip.frames
    boxes = top_level_boxes(clip.path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # fast start
    assert clip.backend.startswith("ffmpeg version") and "encode" in clip.timings


def test_the_poster_is_a_decodable_jpeg(clip: stage.EncodeResult, tmp_path: Path) -> None:
    import cv2

    jpg = stage.poster(clip.path, tmp_path / "poster.jpg", at_s=1.0)
    assert sniff(jpg.read_bytes()[:16]) == "jpeg"
    image = cv2.imread(str(jpg))
    assert image is not None and image.shape == (HEIGHT, WIDTH, 3)


def test_the_preview_is_shorter_smaller_and_muted(clip: stage.EncodeResult, tmp_path: Path) -> None:
    small = stage.preview(clip.path, tmp_path / "preview.mp4", seconds=1.0, height=128).probe
    assert small.duration_s < clip.probe.duration_s and small.duration_s == pytest.approx(1.0, 0.1)
    assert (small.width, small.height) == (72, 128)
    assert not small.has_audio and small.video_codec == "h264"


def test_a_wrong_sized_frame_stops_the_encode_with_a_clear_error(tmp_path: Path) -> None:
    frames = [np.zeros((HEIGHT, WIDTH, 3), np.uint8), np.zeros((HEIGHT, WIDTH, 4), np.uint8)]
    with pytest.raises(ValueError, match="frame 1"):
        stage.encode(
            iter(frames),
            fps=FPS,
            width=WIDTH,
            height=HEIGHT,
            audio_wav=None,
            out_mp4=tmp_path / "bad.mp4",
        )


def test_no_frames_at_all_is_an_ffmpeg_error_not_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(FfmpegError):
        stage.encode(
            iter([]),
            fps=FPS,
            width=WIDTH,
            height=HEIGHT,
            audio_wav=None,
            out_mp4=tmp_path / "none.mp4",
        )


def test_burned_in_subtitles_show_only_while_the_line_is_spoken(tmp_path: Path) -> None:
    import av

    # given a cue from 0.5 s to 1.0 s, in a file whose name needs filtergraph escaping
    vtt = write_webvtt([SpokenLine("Ada", "Hello there", 0.5, 1.0)], tmp_path / "a:b, c's.vtt")
    out = tmp_path / "subbed.mp4"
    # when
    stage.encode(
        moving_bars(36, shade=90),
        fps=FPS,
        width=WIDTH,
        height=HEIGHT,
        audio_wav=None,
        out_mp4=out,
        video_filter=burn_in_filter(vtt, width=WIDTH, height=HEIGHT),
    )
    # then the caption strip (left of the moving bar's reach) changes only inside the cue
    with av.open(str(out)) as container:
        strips = [f.to_ndarray(format="rgb24")[200:250, :, 1] for f in container.decode(video=0)]
    lit = [int((np.abs(strip.astype(int) - 90) > 60).sum()) for strip in strips]
    inside = [lit[i] for i in range(len(lit)) if 0.5 * FPS + 1 <= i < 1.0 * FPS - 1]
    outside = [lit[i] for i in range(len(lit)) if i < 0.5 * FPS - 1 or i > 1.0 * FPS + 1]
    assert min(inside) > 20 and max(outside) == 0, (inside, outside)

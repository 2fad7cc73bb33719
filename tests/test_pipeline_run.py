"""The whole generation pipeline on a prompt, judged on the MP4 it writes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from generation.pipeline import dsp
from generation.pipeline.pipeline import GenerationRequest, GenerationResult, run
from generation.pipeline.plan import PlanRequest, RuleBasedPlanner
from generation.pipeline.probe import probe

pytestmark = pytest.mark.slow

PROMPT = (
    "Wide shot of a park: the runner waves. Medium shot: the runner jumps. "
    'Close-up: the runner says "That was the highest jump of my life!"'
)
SIZE = (180, 320)
TROUSERS = np.array([51, 56, 77])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerationResult, list[Any]]:
    from generation.pipeline.provenance import SigningKeys

    board = RuleBasedPlanner().plan(PlanRequest(prompt=PROMPT, duration_s=7.5))
    progress: list[tuple[str, float]] = []
    result = run(
        GenerationRequest(storyboard=board, job_id="test-job", prompt=PROMPT, size=SIZE),
        workdir=tmp_path_factory.mktemp("work"),
        on_progress=lambda stage, fraction: progress.append((stage, fraction)),
        authorize=lambda cameo: {},
        keys=SigningKeys.generate("test"),
    )
    return result, progress


def decode(path: Path) -> tuple[list[np.ndarray], np.ndarray, int]:
    import av

    frames, chunks, rate = [], [], 0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            rate = frame.sample_rate
            chunks.append(frame.to_ndarray().mean(axis=0))
    return frames, np.concatenate(chunks).astype(np.float32), rate


def test_the_prompt_becomes_an_mp4_with_the_right_shape_and_sound(
    generated: tuple[GenerationResult, list[Any]],
) -> None:
    result, _ = generated
    media = probe(result.video)
    assert (media.width, media.height, media.fps) == (*SIZE, 24.0)
    assert media.duration_s == pytest.approx(7.5, abs=1 / 24 + 0.03)
    assert media.has_audio and media.audio_codec == "aac" and media.video_codec == "h264"
    assert result.frames == 180
    _, samples, rate = decode(result.video)
    assert len(samples) / rate == pytest.approx(7.5, abs=0.05)  # sound ends with the picture


def test_the_landing_frame_and_the_landing_sound_are_within_one_frame(
    generated: tuple[GenerationResult, list[Any]],
) -> None:
    result, _ = generated
    frames, samples, rate = decode(result.video)
    medium = [i for i in range(len(frames)) if 2.5 * 24 <= i < 5.0 * 24]
    lowest = {}
    for i in medium:
        rows = np.nonzero((np.abs(frames[i].astype(int) - TROUSERS).sum(axis=2) < 45).any(axis=1))[
            0
        ]
        lowest[i] = rows.max() if len(rows) else -1
    ground = max(lowest.values())
    airborne = [i for i, row in lowest.items() if row < ground - 2]
    assert airborne, "the jump is not visible in the medium shot"
    seen_landing = (airborne[-1] + 1) / 24
    # the thump: the steepest rise of low-band energy near the landing
    hop = rate // 1000
    window = slice(int((seen_landing - 0.3) * rate), int((seen_landing + 0.3) * rate))
    energy = dsp.frame_rms(dsp.band(samples[window], rate, None, 200.0), 4 * hop, hop) ** 2
    heard = seen_landing - 0.3 + (int(np.argmax(np.diff(energy))) + 1) * hop / rate
    assert abs(heard - seen_landing) <= 1 / 24, (heard, seen_landing)


def test_the_subtitles_match_the_speech_heard_in_the_video(
    generated: tuple[GenerationResult, list[Any]],
) -> None:
    import torch
    from silero_vad import get_speech_timestamps, load_silero_vad

    result, _ = generated
    _, samples, rate = decode(result.video)
    speech = get_speech_timestamps(
        torch.from_numpy(dsp.resample(samples, rate, 16000)),
        load_silero_vad(),
        sampling_rate=16000,
        return_seconds=True,
    )
    cues = re.findall(
        r"(\d+):(\d+):(\d+)\.(\d+) --> (\d+):(\d+):(\d+)\.(\d+)", result.subtitles.read_text()
    )
    seconds = [
        (
            int(a) * 3600 + int(b) * 60 + int(c) + int(d) / 1000,
            int(e) * 3600 + int(f) * 60 + int(g) + int(h) / 1000,
        )
        for a, b, c, d, e, f, g, h in cues
    ]
    assert speech and seconds
    assert abs(speech[0]["start"] - seconds[0][0]) < 0.25
    assert abs(speech[-1]["end"] - seconds[-1][1]) < 0.3


def test_progress_rises_through_every_stage_to_the_end(
    generated: tuple[GenerationResult, list[Any]],
) -> None:
    _, progress = generated
    fractions = [f for _, f in progress]
    assert fractions == sorted(fractions) and fractions[-1] > 0.99
    stages = list(dict.fromkeys(stage for stage, _ in progress))
    assert stages == ["cast", "scene", "audio", "subtitles", "render", "finish", "provenance"]


def test_the_output_is_watermarked_signed_and_fingerprinted(
    generated: tuple[GenerationResult, list[Any]],
) -> None:
    result, _ = generated
    assert result.manifest["generated"] is True
    assert result.manifest["request"]["job"] == "test-job"
    assert result.provenance_backend
    assert result.fingerprint
    # the signed manifest is bound to the pictures too: the final file's own fingerprint
    from generation.pipeline.fingerprint import fingerprint

    assert result.manifest["soft_binding"]["fingerprint"] == result.fingerprint
    assert fingerprint(result.video).to_json() == result.fingerprint
    assert set(result.timings) >= {"cast", "scene", "audio", "render", "encode", "provenance"}
    assert result.poster.exists() and result.preview.exists()


def test_a_retry_skips_the_stages_that_already_finished(tmp_path: Path) -> None:
    from generation.pipeline.provenance import SigningKeys

    board = RuleBasedPlanner().plan(PlanRequest(prompt="A calm beach.", duration_s=1.5))
    request = GenerationRequest(storyboard=board, job_id="retry", size=(90, 160))
    keys = SigningKeys.generate("test")
    stages: list[str] = []

    def failing_provenance(stage: str, fraction: float) -> None:
        stages.append(stage)
        if stage == "finish":
            raise RuntimeError("the worker fell over")

    with pytest.raises(RuntimeError):
        run(request, workdir=tmp_path, on_progress=failing_provenance, authorize=dict, keys=keys)
    rendered = (tmp_path / "video.mp4").stat().st_mtime_ns
    again = RuleBasedPlanner().plan(PlanRequest(prompt="A calm beach.", duration_s=1.5))
    retry: list[str] = []
    run(
        GenerationRequest(storyboard=again, job_id="retry", size=(90, 160)),
        workdir=tmp_path,
        on_progress=lambda s, f: retry.append(s),
        authorize=dict,
        keys=keys,
    )
    assert (tmp_path / "video.mp4").stat().st_mtime_ns == rendered  # not rendered again
    assert "render" in retry  # reported as done, at once


def test_a_cancel_between_frame_batches_stops_the_render_and_leaves_no_video(
    tmp_path: Path,
) -> None:
    from generation.pipeline.provenance import SigningKeys
    from jobs.lifecycle import JobCancelled

    board = RuleBasedPlanner().plan(PlanRequest(prompt="A calm beach.", duration_s=3))
    seen: list[float] = []

    def cancel_midway(stage: str, fraction: float) -> None:
        seen.append(fraction)
        if stage == "render" and fraction > 0.3:
            raise JobCancelled("test")

    with pytest.raises(JobCancelled):
        run(
            GenerationRequest(storyboard=board, job_id="c", size=(90, 160)),
            workdir=tmp_path,
            on_progress=cancel_midway,
            authorize=dict,
            keys=SigningKeys.generate("t"),
        )
    assert not (tmp_path / "final.mp4").exists()
    assert "render" not in json.loads((tmp_path / "stages.json").read_text())
    assert seen[-1] < 0.9  # it stopped in the render, not after it

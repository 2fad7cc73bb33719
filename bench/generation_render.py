"""Benchmark: the generation pipeline on a 10 s 720x1280 video at 24 fps with one cast cameo.

Prints the time of each stage and the ratio to real time (wall time / video length). The
cameo's cutout is made the way verification makes it: mediapipe's selfie segmentation on a
real photo (skimage's astronaut).

    .venv/bin/python bench/generation_render.py [--seconds 10] [--size 720x1280]
    .venv/bin/python bench/generation_render.py --tiny   # 2 s at 180x320, for CI

Runs on CPU here; the renderer uses CUDA where torch sees a device, and the report says so.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import parse_args  # noqa: E402

PROMPT = (
    "Establishing shot of a sunny park, the camera pans. Wide shot: Maya walks to the ball. "
    "Medium shot, the camera pushes in: Maya jumps. "
    'Close-up: Maya says "I did not expect to fly that high today!"'
)


def astronaut_cutout() -> bytes:
    import cv2
    from skimage import data

    from cameo.biometrics.cutout import cutout_png, person_mask

    frame = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return cutout_png(frame, person_mask(frame))


def main() -> None:
    import torch

    from generation.pipeline.cast import CastMember
    from generation.pipeline.pipeline import GenerationRequest, run
    from generation.pipeline.plan import PlanRequest, RuleBasedPlanner
    from generation.pipeline.provenance import SigningKeys

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="720x1280")
    args = parse_args(parser, tiny={"seconds": 2.0, "size": "180x320"})
    width, height = (int(v) for v in args.size.split("x"))
    board = RuleBasedPlanner().plan(
        PlanRequest(prompt=PROMPT, duration_s=args.seconds, cast=(("Maya", "bench-cameo"),))
    )
    member = CastMember("bench-cameo", "Maya", astronaut_cutout(), voice_pitch_hz=190.0)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    print(
        f"{args.seconds:.0f} s {width}x{height} @ {board.fps} fps, 1 cast cameo, "
        f"{len(board.shots)} shots, device {device}, {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = run(
            GenerationRequest(
                storyboard=board, job_id="bench", cast=[member], prompt=PROMPT, size=(width, height)
            ),
            workdir=Path(tmp),
            on_progress=lambda stage, fraction: None,
            authorize=lambda cameo: {"cameo": cameo},
            keys=SigningKeys.generate("bench"),
        )
        wall = time.perf_counter() - started
    print(f"{'stage':<12}{'seconds':>9}{'x real time':>13}")
    for stage, seconds in result.timings.items():
        print(f"{stage:<12}{seconds:>9.2f}{seconds / result.duration_s:>13.2f}")
    print(f"{'total':<12}{wall:>9.2f}{wall / result.duration_s:>13.2f}")
    print(
        f"frames {result.frames}, render {result.backends['render']}, "
        f"provenance {result.provenance_backend}"
    )


if __name__ == "__main__":
    main()

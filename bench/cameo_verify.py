"""Benchmark: `verify_capture` on a 10 s 720x1280 (portrait) capture, end to end and per stage.

Builds the clip as the tests do (a real face photo turned by a depth warp, digits spoken by
espeak-ng), then verifies it twice: cold (models load on first use) and warm.

    .venv/bin/python bench/cameo_verify.py [--models-dir DIR] [--runs 2]
    .venv/bin/python bench/cameo_verify.py --tiny   # the tests' 5 s 360x480 12 fps clip, for CI

Needs espeak-ng (apt-get install espeak-ng). Runs on CPU; torch and onnxruntime use a CUDA
device where they see one, and the report says which.
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

from cameo.biometrics import Challenge, Turn, verify_capture  # noqa: E402
from tests import cameo_media as cm  # noqa: E402

# The service's kind of challenge (cameo/services.py): six digits, then two timed turns.
CHALLENGE = Challenge(
    digits="482731",
    digits_shown_at=0.5,
    digits_hidden_at=4.0,
    turns=(Turn("left", 4.5, 6.0), Turn("right", 6.5, 8.0)),
)
CAPTURE = cm.Capture(
    seconds=10.0,
    size=(720, 1280),
    fps=30,
    digits="482731",
    speech_at=0.8,
    turns=(("left", 4.6, 5.9), ("right", 6.6, 7.9)),
)
# --tiny: the clip tests/test_biometrics.py verifies, with its challenge.
TINY_CHALLENGE = Challenge("4827", 0.5, 2.5, turns=(Turn("left", 2.6, 4.6),))
TINY_CAPTURE = cm.Capture()


def devices() -> str:
    import onnxruntime
    import torch

    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    return (
        f"torch {torch.__version__} ({cuda}); onnxruntime {onnxruntime.__version__} "
        f"providers {onnxruntime.get_available_providers()}; {os.cpu_count()} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=2)
    args = parse_args(parser, tiny={}, note="the tests' 5 s 360x480 12 fps clip")
    capture, challenge = (TINY_CAPTURE, TINY_CHALLENGE) if args.tiny else (CAPTURE, CHALLENGE)

    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "capture.mp4"
        started = time.perf_counter()
        cm.build_capture(clip, capture)
        built_s = time.perf_counter() - started
        width, height = capture.size
        print(
            f"built a {capture.seconds:.0f} s {width}x{height} {capture.fps} fps clip "
            f"({clip.stat().st_size / 1e6:.1f} MB) in {built_s:.1f} s"
        )
        print(f"device: {devices()}")
        runs = []
        for _ in range(args.runs):
            started = time.perf_counter()
            double = verify_capture(clip, challenge=challenge, models_dir=args.models_dir)
            runs.append((time.perf_counter() - started, double.timings))
    print(
        f"models: {double.detector_model}, {double.embedding_model}, {double.voice_model}, "
        f"{double.cutout_model}"
    )
    meta = double.metadata
    print(
        f"frames sampled {meta['frames_sampled']}, embedded {meta['frames_embedded']}, "
        f"turns {meta['turns_seen']}, digits score {meta.get('digits_score')}, "
        f"speech {double.voice.speech_seconds:.2f} s"
    )
    labels = ["cold" if i == 0 else f"warm {i}" for i in range(len(runs))]
    print(f"\n{'stage':<14}" + "".join(f"{label:>10}" for label in labels))
    for stage in runs[0][1]:
        print(f"{stage:<14}" + "".join(f"{timings[stage]:>10.3f}" for _, timings in runs))
    print(f"{'total':<14}" + "".join(f"{total:>10.3f}" for total, _ in runs))


if __name__ == "__main__":
    main()

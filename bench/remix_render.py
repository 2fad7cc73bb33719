"""Benchmark: both remix operations on a 10 s 720x1280 clip at 24 fps, per stage.

The source is built the way the tests build theirs (tests/remix_media.py): a real photo's
person moving over a known room, with a shot cut and a brief occlusion, so the benchmark can
also score what it made: the person-mask IoU against the known truth (background swap) and,
in every output frame where a face is found, the face's cosine similarity to the cameo's
and to the source subject's (subject swap, dlib embeddings).

    .venv/bin/python bench/remix_render.py [--seconds 10] [--size 720x1280] [--ops both]
    .venv/bin/python bench/remix_render.py --ops restage   # videos made here: re-staged
    .venv/bin/python bench/remix_render.py --ops all       # both, then restage
    .venv/bin/python bench/remix_render.py --tiny   # --ops all, 2 s at 180x320, for CI

Runs on CPU here; where a GPU is present the face models use onnxruntime's CUDA provider
when their production weights are in MODELS_DIR, and the report names what ran.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import parse_args  # noqa: E402


def report(name: str, result: Any, wall: float) -> None:
    frames = result.frames
    print(f"\n{name}: {frames} frames, {result.duration_s:.1f} s of video")
    print(f"  {'stage':<12}{'seconds':>9}{'frames/s':>10}")
    for stage, seconds in result.timings.items():
        rate = f"{frames / seconds:.1f}" if seconds > 0.05 else "-"
        print(f"  {stage:<12}{seconds:>9.2f}{rate:>10}")
    print(
        f"  {'total':<12}{wall:>9.2f}{frames / wall:>10.1f}   "
        f"({wall / result.duration_s:.2f}x real time)"
    )
    print("  backends: " + ", ".join(f"{k}={v}" for k, v in result.backends.items()))
    print("  counts: " + ", ".join(f"{k}={v}" for k, v in result.counts.items()))


def restage(seconds: float, width: int, height: int, keys: Any) -> None:
    """A video made here, remixed by re-rendering its storyboard (remix/restage.py does this
    for the job): a new setting, then a cameo cast as its subject."""
    import copy

    import cv2

    from generation.pipeline.cast import CastMember
    from generation.pipeline.pipeline import GenerationRequest, run
    from generation.pipeline.plan import PlanRequest, RuleBasedPlanner
    from tests.cameo_media import load_photo

    prompt = (
        "Wide shot of a kitchen: the chef walks to the vase. Medium shot: the chef jumps. "
        'Close-up: the chef says "That was not part of the recipe."'
    )
    board = RuleBasedPlanner().plan(PlanRequest(prompt=prompt, duration_s=seconds))
    photo = cv2.cvtColor(load_photo("tom_hanks").image, cv2.COLOR_BGR2BGRA)
    cutout = cv2.imencode(".png", photo)[1].tobytes()
    with tempfile.TemporaryDirectory() as tmp:
        for name in (
            "source",
            "restage: background 'a forest at night'",
            "restage: subject -> cameo",
        ):
            staged, cast = copy.deepcopy(board), []
            if "background" in name:
                staged.setting, staged.lighting = "forest", "night"
            elif "cameo" in name:
                subject = staged.subjects[0]
                subject.cameo_id = "bench-cameo"
                cast = [CastMember("bench-cameo", subject.name, cutout, voice_pitch_hz=110.0)]
            began = time.perf_counter()
            result = run(
                GenerationRequest(storyboard=staged, job_id=name, cast=cast, size=(width, height)),
                workdir=Path(tmp) / str(len(name)),
                on_progress=lambda s, f: None,
                authorize=lambda cameo: {"cameo": cameo},
                keys=keys,
            )
            wall = time.perf_counter() - began
            stages = ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
            print(
                f"{name}: {result.frames} frames {wall:.2f} s ({result.frames / wall:.1f} "
                f"frames/s, {wall / result.duration_s:.2f}x real time): {stages}"
            )


def main() -> None:
    import cv2
    import numpy as np

    from cameo.biometrics.faces import face_backend
    from generation.pipeline.provenance import SigningKeys
    from remix.pipeline.pipeline import CameoDouble, RemixRequest, decode_frames, run
    from remix.pipeline.score import face_embedding, identity_scores, mask_ious
    from tests import remix_media as rm
    from tests.cameo_media import load_photo

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="720x1280")
    parser.add_argument(
        "--ops", default="both", choices=["both", "background", "subject", "restage", "all"]
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each remix this many times in this process (a warm worker) and report the "
        "median, the spread and the first (cold) run",
    )
    args = parse_args(parser, tiny={"seconds": 2.0, "size": "180x320", "ops": "all"})
    width, height = (int(v) for v in args.size.split("x"))
    spec = rm.SourceSpec(
        seconds=args.seconds,
        size=(width, height),
        fps=24,
        cut_at=args.seconds * 0.6,
        occlude=(args.seconds * 0.3, args.seconds * 0.3 + 0.4),
    )
    keys = SigningKeys.generate("bench")
    if args.ops == "restage":
        restage(args.seconds, width, height, keys)
        return
    print(
        f"source: {args.seconds:.0f} s {width}x{height} @ 24 fps, a cut at {spec.cut_at:.1f} s, "
        f"the face hidden {spec.occlude[0]:.1f}-{spec.occlude[1]:.1f} s; "
        f"{os.cpu_count()} cores"
    )

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        truth = rm.build_source(work / "source.mp4", spec)
        print(f"(source built in {time.perf_counter() - started:.1f} s)")

        def remix(name: str, **fields: Any) -> Any:
            walls = []
            for attempt in range(max(1, args.repeat)):
                request = RemixRequest(
                    source=truth.path,
                    job_id=f"{name} #{attempt}",
                    source_ref={"post": 1, "video": "bench"},
                    **fields,
                )
                began = time.perf_counter()
                result = run(
                    request,
                    workdir=work / f"{name} #{attempt}",
                    on_progress=lambda s, f: None,
                    authorize=lambda cameo: {"cameo": cameo},
                    keys=keys,
                )
                walls.append(time.perf_counter() - began)
            report(name, result, walls[-1])
            if len(walls) > 1:
                print(
                    f"  {len(walls)} runs: median {statistics.median(walls):.2f} s, "
                    f"min {min(walls):.2f}, max {max(walls):.2f}; first {walls[0]:.2f} s"
                )
            return result

        if args.ops in ("both", "all", "background"):
            words = "a beach at sunset"
            result = remix(
                f"swap_background (words: {words!r})",
                operation="swap_background",
                background_prompt=words,
            )
            ious = np.array(mask_ious([f.mask for f in result.track.frames], truth.masks))
            print(
                f"  mask IoU vs truth: mean {ious.mean():.3f}, min {ious.min():.3f}, "
                f"p10 {np.percentile(ious, 10):.3f} over {len(ious)} frames"
            )
            plate = work / "plate.png"
            cv2.imwrite(str(plate), rm.new_background(width, height))
            remix("swap_background (image)", operation="swap_background", background_image=plate)

        if args.ops in ("both", "all", "subject"):
            photo = load_photo("tom_hanks").image
            double = CameoDouble("bench-cameo", cv2.imencode(".png", photo)[1].tobytes(), 110.0)
            result = remix(
                "swap_subject (cameo: Tom Hanks photo)", operation="swap_subject", cameo=double
            )
            faces = face_backend(None)
            scores = identity_scores(
                decode_frames(result.video),
                faces,
                face_embedding(faces, photo),
                face_embedding(faces, next(decode_frames(truth.path))),
                truth.face_visible,
                [f.face.box if f.face else None for f in result.track.frames],
            )
            print(
                f"  identity ({faces.name}): {scores.summary()} "
                f"(source frames with the face in view: {sum(truth.face_visible)})"
            )

    if args.ops == "all":
        print()
        restage(args.seconds, width, height, keys)


if __name__ == "__main__":
    main()

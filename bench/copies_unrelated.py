"""Benchmark: false matches of the copy search against thousands of clips that copy nothing.

The copied videos and their edits are bench/copies.py's (ffmpeg test sources, and every
re-upload edit it makes: re-encodes, scale, crop, colour, banner, frame rate, letterbox,
trims, a middle cut, speed changes, mirror). The unrelated clips are made here, each from
its own seed, of four kinds:
- pan: a window moving and zooming over a real photograph (every scene and face photo the
  held-out sets use, and the other photos scikit-image ships);
- person: a person cut out of a real photo moving over a real scene (tests/remix_photos.py);
- shapes: coloured discs and bars moving over a gradient, with camera noise;
- texture: a blurred noise field drifting and changing.
Each is encoded to H.264 and hashed as a kept video is (media.hashes.hashes_of_file); then
every copied video and every edit is compared with every unrelated clip the way the search
compares them (media.hashes: the shared-key pre-filter, then the two hashers' scores). Any
match is a false match. Also printed: the highest score an unrelated clip reached with
either hasher, against the threshold it would have to pass.

    .venv/bin/python bench/copies_unrelated.py [--unrelated 10000] [--workers 2] [--budget-s 0]
    .venv/bin/python bench/copies_unrelated.py --tiny   # 16 unrelated clips, for CI
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from harness import parse_args  # noqa: E402

SIZE = (180, 320)  # the unrelated clips' width, height (the copied ones are bench/copies.py's)
FPS = 12
KINDS = ("pan", "person", "shapes", "texture")
EXTRA_PHOTOS = ("camera", "coins", "moon", "page", "text", "clock", "retina")


# --- the unrelated clips ----------------------------------------------------------------------
def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


_PHOTOS: list[np.ndarray] = []


def _photos() -> list[np.ndarray]:
    """Every photo a pan can run over, BGR, loaded once per process."""
    if not _PHOTOS:
        import cv2
        from skimage import data

        from tests import face_photos, remix_photos

        _PHOTOS.extend(remix_photos.scene_image(name) for name in remix_photos.SCENES)
        for photo in face_photos.corpus():
            _PHOTOS.append(face_photos.load(photo).image)
        for name in EXTRA_PHOTOS:
            image = np.asarray(getattr(data, name)(), np.uint8)
            image = image if image.ndim == 3 else np.stack([image] * 3, axis=-1)
            _PHOTOS.append(cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2BGR))
    return _PHOTOS


def _frames(kind: str, rng: np.random.Generator, count: int) -> list[np.ndarray]:
    width, height = SIZE
    if kind == "pan":
        return _pan(rng, count, width, height)
    if kind == "person":
        return _person(rng, count, width, height)
    if kind == "shapes":
        return _shapes(rng, count, width, height)
    return _texture(rng, count, width, height)


def _pan(rng: np.random.Generator, count: int, width: int, height: int) -> list[np.ndarray]:
    import cv2

    photos = _photos()
    image = photos[int(rng.integers(len(photos)))]
    if rng.random() < 0.5:
        image = image[:, ::-1]
    rows, cols = image.shape[:2]
    aspect = width / height
    start, end = rng.uniform(0.35, 1.0, 2)  # window height as a share of the photo's
    centres = rng.uniform(0.2, 0.8, (2, 2))
    frames = []
    for i in range(count):
        t = i / max(1, count - 1)
        share = start + (end - start) * t
        h = min(rows, share * rows)
        w = min(cols, h * aspect)
        h = w / aspect
        cx, cy = (centres[0] + (centres[1] - centres[0]) * t) * (cols, rows)
        x0, y0 = np.clip(cx - w / 2, 0, cols - w), np.clip(cy - h / 2, 0, rows - h)
        matrix = np.array([[width / w, 0, -x0 * width / w], [0, height / h, -y0 * height / h]])
        frames.append(cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR))
    return frames


def _person(rng: np.random.Generator, count: int, width: int, height: int) -> list[np.ndarray]:
    from dataclasses import replace

    from tests import remix_media, remix_photos

    people = remix_photos.people("tuning") + remix_photos.people("held_out")
    person = people[int(rng.integers(len(people)))]
    scene = list(remix_photos.SCENES)[int(rng.integers(len(remix_photos.SCENES)))]
    spec = remix_media.SourceSpec(
        seconds=count / FPS,
        size=(width, height),
        fps=FPS,
        photo=f"corpus:{person.key}",
        background=scene,
        face_width=float(rng.uniform(0.2, 0.4)),
        center_x=float(rng.uniform(0.3, 0.7)),
        sway=float(rng.uniform(0.0, 0.15)),
    )
    spec = replace(spec, noise=float(rng.uniform(1.0, 4.0)))
    return [frame for frame, _ in remix_media.render_frames(spec)][:count]


def _shapes(rng: np.random.Generator, count: int, width: int, height: int) -> list[np.ndarray]:
    import cv2

    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height + 1) / 2
    base = (a + (b - a) * ramp[..., None]).astype(np.float32)
    shapes = [
        (
            rng.uniform(0, 1, 2),
            rng.uniform(-0.02, 0.02, 2),
            rng.uniform(0.05, 0.3),
            rng.uniform(0, 255, 3),
            bool(rng.random() < 0.5),
        )
        for _ in range(int(rng.integers(2, 8)))
    ]
    frames = []
    for i in range(count):
        frame = base.copy()
        for (x, y), (dx, dy), size, colour, disc in shapes:
            cx, cy = int(((x + dx * i) % 1) * width), int(((y + dy * i) % 1) * height)
            r = int(size * width)
            if disc:
                cv2.circle(frame, (cx, cy), r, colour.tolist(), -1)
            else:
                cv2.rectangle(
                    frame, (cx - r, cy - r // 3), (cx + r, cy + r // 3), colour.tolist(), -1
                )
        frame += rng.normal(0, 3, frame.shape).astype(np.float32)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def _texture(rng: np.random.Generator, count: int, width: int, height: int) -> list[np.ndarray]:
    import cv2

    scale = float(rng.uniform(4, 24))
    field_a = cv2.GaussianBlur(
        rng.normal(128, 80, (height, width, 3)).astype(np.float32), (0, 0), scale
    )
    field_b = cv2.GaussianBlur(
        rng.normal(128, 80, (height, width, 3)).astype(np.float32), (0, 0), scale
    )
    gain = float(rng.uniform(2, 6))
    frames = []
    for i in range(count):
        t = i / max(1, count - 1)
        mixed = (1 - t) * field_a + t * field_b
        shifted = np.roll(mixed, (int(2 * i), int(i)), axis=(0, 1))
        frames.append(np.clip((shifted - 128) * gain + 128, 0, 255).astype(np.uint8))
    return frames


def _encode(path: Path, frames: list[np.ndarray]) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for frame in frames:
            picture = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(frame[:, :, ::-1]), format="rgb24"
            )
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))


def unrelated_clip(seed: int) -> tuple[str, Any]:
    """The seed's clip, hashed: (kind, media.hashes.Hashes)."""
    from media.hashes import hashes_of_file

    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    count = int(rng.integers(2 * FPS, 6 * FPS))
    frames = _frames(kind, rng, count)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        _encode(path, frames)
        return kind, hashes_of_file(path)


# --- the comparison ---------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unrelated", type=int, default=10_000)
    parser.add_argument("--clips", type=int, default=4, help="copied videos (bench/copies.py)")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--budget-s", type=float, default=0, help="stop making clips after this long (0: never)"
    )
    args = parse_args(parser, {"unrelated": 16, "clips": 1, "seconds": 4.0})
    _setup()
    import copies

    from generation.pipeline import fingerprint as keyframes
    from media import hashes, videohash

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        queries: dict[str, Any] = {}
        for source in copies.SOURCES[: args.clips]:
            original = copies.make_clip(folder / f"{source}.mp4", source, args.seconds)
            queries[source] = hashes.hashes_of_file(original)
            for edit in copies.EDITS:
                target = copies.make_edit(original, edit, folder / f"{source}.{edit}.mp4")
                queries[f"{source}.{edit}"] = hashes.hashes_of_file(target)
    print(f"{len(queries)} copied videos and edits hashed in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    made: list[tuple[str, Any]] = []
    with multiprocessing.get_context("spawn").Pool(args.workers, initializer=_setup) as pool:
        for clip in pool.imap(unrelated_clip, range(args.unrelated), chunksize=8):
            made.append(clip)
            if len(made) % 500 == 0:
                print(f"  {len(made)} made, {time.perf_counter() - started:.0f} s", flush=True)
            if args.budget_s and time.perf_counter() - started > args.budget_s:
                print(f"  stopped at the time budget ({args.budget_s:g} s)", flush=True)
                pool.terminate()
                break
    seconds = time.perf_counter() - started
    tally = ", ".join(f"{k} {sum(m[0] == k for m in made)}" for k in KINDS)
    each = 1000 * seconds / max(1, len(made))
    print(
        f"{len(made)} unrelated clips ({tally}) made and hashed in {seconds:.0f} s "
        f"({each:.0f} ms a clip, {args.workers} workers)"
    )

    false, candidates, worst_pdq, worst_print = [], 0, 0.0, 0.0
    for name, query in queries.items():
        keys = set(query.buckets(both_ways=True))
        for index, (kind, other) in enumerate(made):
            worst_pdq = max(worst_pdq, videohash.copy_score(query.pdq, other.pdq))
            if query.fingerprint is not None and other.fingerprint is not None:
                worst_print = max(
                    worst_print, keyframes.similarity(query.fingerprint, other.fingerprint)
                )
            if len(keys & set(other.buckets())) < hashes.MIN_SHARED:
                continue
            candidates += 1
            if hashes.copy_score(query, other) > 0:
                false.append((name, index, kind))
    pairs = len(queries) * len(made)
    print(
        f"false matches: {len(false)} of {pairs:,} pairs ({len(queries)} queries x {len(made)} "
        f"unrelated clips), {len({i for _, i, _ in false})} unrelated clips matched; "
        f"{candidates} pairs passed the shared-key pre-filter"
    )
    matched = len({i for _, i, _ in false})
    print(
        f"per 10,000 unrelated clips: {10_000 * matched / max(1, len(made)):.1f} matched; "
        f"highest unrelated score: PDQ {worst_pdq:.3f} (a copy: >= {videohash.COPY_FRACTION}), "
        f"fingerprint {worst_print:.3f} (a copy: >= {keyframes.MATCH_THRESHOLD})"
    )
    for name, index, kind in false[:10]:
        print(f"  false match: {name} ~ unrelated #{index} ({kind})")


if __name__ == "__main__":
    main()

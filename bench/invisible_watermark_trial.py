"""Trial: does an invisible watermark survive what re-uploads do? (issue 15)

`invisible-watermark`'s DWT-DCT method (no weights) embeds 32 bits into every frame of a video
the generation pipeline made; the marked video is encoded as the pipeline encodes, then put
through the re-upload edits bench/copies.py uses (re-encode CRF 36, half scale, 8 % crop,
colour shift, banner, 15 fps, letterbox over a blur, the first second trimmed, mirror). Prints,
per edit, the bits read back right: per frame, and by a majority vote over every frame.

Not a capability the project keeps: the library is not among its dependencies, because its
bits did not survive (README). To run the trial again:

    .venv/bin/pip install --no-deps invisible-watermark==0.2.0 PyWavelets
    .venv/bin/python bench/invisible_watermark_trial.py [--seconds 3] [--size 720x1280]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from copies import EDITS  # noqa: E402
from harness import parse_args  # noqa: E402

BITS = 32
PROMPT = "A funny dog jumps on the beach at sunset, the camera pushes in."


def render(out: Path, seconds: float, size: tuple[int, int]) -> Path:
    from generation.pipeline.pipeline import GenerationRequest, run
    from generation.pipeline.plan import PlanRequest, RuleBasedPlanner
    from generation.pipeline.provenance import SigningKeys

    board = RuleBasedPlanner().plan(PlanRequest(prompt=PROMPT, duration_s=seconds))
    result = run(
        GenerationRequest(storyboard=board, job_id="trial", prompt=PROMPT, size=size),
        workdir=out,
        on_progress=lambda stage, fraction: None,
        authorize=lambda cameo: {},
        keys=SigningKeys.generate("trial"),
    )
    return result.video


def frames_of(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", default="720x1280")
    args = parse_args(parser, tiny={"seconds": 1.0, "size": "288x512"})
    try:
        from imwatermark import WatermarkDecoder, WatermarkEncoder
    except ImportError:
        sys.exit("needs: .venv/bin/pip install --no-deps invisible-watermark==0.2.0 PyWavelets")
    import cv2

    from generation.pipeline.ffmpeg import ffmpeg_exe

    width, height = (int(v) for v in args.size.split("x"))
    bits = np.random.default_rng(7).integers(0, 2, BITS)
    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", bits.tolist())
    decoder = WatermarkDecoder("bits", BITS)

    def read(frame: np.ndarray) -> np.ndarray:
        if min(frame.shape[:2]) < 256:  # the decoder refuses smaller frames: back to size
            frame = cv2.resize(frame, (width, height))
        return np.array(decoder.decode(frame, "dwtDct"), dtype=int)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = render(folder / "render", args.seconds, (width, height))
        plain = frames_of(source)
        marked = [encoder.encode(frame, "dwtDct") for frame in plain]
        psnr = float(np.mean([cv2.PSNR(a, b) for a, b in zip(plain, marked, strict=True)]))
        encoded = folder / "marked.mp4"
        writer = subprocess.Popen(
            [ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24"]
            + ["-s", f"{width}x{height}", "-r", "24", "-i", "-", "-c:v", "libx264"]
            + ["-crf", "18", "-pix_fmt", "yuv420p", str(encoded)],
            stdin=subprocess.PIPE,
        )
        assert writer.stdin is not None
        for frame in marked:
            writer.stdin.write(frame.tobytes())
        writer.stdin.close()
        writer.wait()
        print(
            f"{len(marked)} frames {width}x{height}, {BITS} bits a frame, "
            f"the mark's PSNR {psnr:.1f} dB"
        )
        print(f"{'edit':<16}{'per frame %':>12}{'vote %':>9}")
        rows = {"unencoded": marked, "encoded": frames_of(encoded)}
        for name, edit in {"trim_first_1s": ["-ss", "1"], **EDITS}.items():
            if name == "trim_first_2s":
                continue  # longer than a tiny clip; the first second stands for it
            out = folder / f"{name}.mp4"
            quality = [] if "-crf" in edit else ["-crf", "23"]
            subprocess.run(
                [ffmpeg_exe(), "-v", "error", "-y", "-i", str(encoded), *edit]
                + ["-c:v", "libx264", *quality, str(out)],
                check=True,
            )
            rows[name] = frames_of(out)
        for name, frames in rows.items():
            read_back = np.stack([read(frame) for frame in frames])
            per_frame = float((read_back == bits).mean()) * 100
            vote = float(((read_back.mean(axis=0) > 0.5).astype(int) == bits).mean()) * 100
            print(f"{name:<16}{per_frame:>12.1f}{vote:>9.1f}")


if __name__ == "__main__":
    main()

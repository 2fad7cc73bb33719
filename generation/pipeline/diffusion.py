"""Render backend: a diffusers text-to-video model loaded from the models directory.

Each shot becomes a prompt; the model samples a short clip at its native size, which is
stretched over the shot's frames (linear blends between sampled frames) and fitted to the
output size. Cast cameos are composited on top with the procedural renderer's projection, so
a cast person stands where the scene graph puts them. Only local files are read: no hub.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from generation.pipeline.render import CastTexture, RenderStats, _at, _Canvas, _draw_cutout, _View
from generation.pipeline.scene import Scene

FRAMING_WORDS = {
    "establishing": "an establishing shot",
    "wide": "a wide shot",
    "medium": "a medium shot",
    "close_up": "a close-up",
}
VERB_WORDS = {
    "stand": "standing",
    "walk": "walking",
    "run": "running",
    "jump": "jumping",
    "wave": "waving",
    "dance": "dancing",
    "sit": "sitting down",
    "knock_over": "knocking something over",
}


def shot_prompt(scene: Scene, index: int) -> str:
    """Words for one shot, from the same scene graph every backend renders."""
    board, shot = scene.board, scene.board.shots[index]
    doing = {a.subject: VERB_WORDS[a.verb] for a in shot.actions}
    people = [
        f"a {s.kind if s.kind != 'person' else 'person'} {doing.get(s.name, 'standing')}"
        for s in board.subjects
        if s.name in (shot.subjects or [s.name])
    ]
    props = [p.name for p in board.props]
    parts = [
        f"{FRAMING_WORDS[shot.framing]} of {' and '.join(people) or 'a scene'}",
        f"in a {board.setting}",
        f"{board.lighting.replace('_', ' ')} light",
        f"{board.style} style",
        f"{board.mood} mood",
    ]
    if props:
        parts.insert(2, "with a " + ", a ".join(props))
    return ", ".join(parts)


@functools.cache
def _load(model_dir: str, device: str) -> Any:
    import torch
    from diffusers import DiffusionPipeline

    dtype = torch.float16 if device == "cuda" else torch.float32
    pipe = DiffusionPipeline.from_pretrained(model_dir, local_files_only=True, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _fit(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover the output size and centre-crop (never letterbox)."""
    import cv2

    h, w = frames.shape[1:3]
    scale = max(width / w, height / h)
    size = (max(width, round(w * scale)), max(height, round(h * scale)))
    out = np.empty((len(frames), height, width, 3), np.uint8)
    for i, frame in enumerate(frames):
        big = cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
        x, y = (size[0] - width) // 2, (size[1] - height) // 2
        out[i] = big[y : y + height, x : x + width]
    return out


def _stretch(clip: np.ndarray, count: int) -> np.ndarray:
    """`count` frames spread over the sampled clip, blending neighbours in between."""
    positions = np.linspace(0, len(clip) - 1, count)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, len(clip) - 1)
    weight = (positions - low)[:, None, None, None]
    return clip[low] * (1 - weight) + clip[high] * weight


class DiffusionRenderer:
    def __init__(
        self,
        model_dir: Path,
        *,
        steps: int = 25,
        guidance: float = 9.0,
        native: tuple[int, int] = (256, 256),
        clip_frames: int = 16,
        seed: int = 0,
    ) -> None:
        import torch

        self.model_dir = Path(model_dir)
        if not (self.model_dir / "model_index.json").exists():
            raise FileNotFoundError(f"No diffusers model in {self.model_dir}")
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.steps, self.guidance, self.native = steps, guidance, native
        self.clip_frames, self.seed = clip_frames, seed
        self.name = f"diffusers:{self.model_dir.name}"

    def render(
        self,
        scene: Scene,
        casts: dict[str, CastTexture] | None = None,
        on_batch: Callable[[int, int], None] | None = None,
        stats: RenderStats | None = None,
    ) -> Iterator[np.ndarray]:
        import torch

        pipe = _load(str(self.model_dir), self.device.type)
        stats = stats or RenderStats(self.name, str(self.device))
        done, total = 0, scene.frame_count
        for camera in scene.cameras:
            started = time.perf_counter()
            span = camera.shot
            first, last = round(span.start_s * scene.fps), min(total, round(span.end_s * scene.fps))
            generator = torch.Generator(device="cpu").manual_seed(self.seed + span.index)
            sampled = pipe(
                shot_prompt(scene, span.index),
                num_frames=self.clip_frames,
                width=self.native[0],
                height=self.native[1],
                num_inference_steps=self.steps,
                guidance_scale=self.guidance,
                generator=generator,
                output_type="np",
            ).frames[0]
            clip = np.clip(_stretch(np.asarray(sampled, np.float32), last - first) * 255, 0, 255)
            frames = _fit(clip.astype(np.uint8), scene.width, scene.height)
            if casts:
                frames = self._composite(scene, list(range(first, last)), frames, casts)
            stats.timings["render"] = stats.timings.get("render", 0.0) + (
                time.perf_counter() - started
            )
            yield from frames
            done += len(frames)
            stats.frames = done
            if on_batch is not None:
                on_batch(done, total)

    def _composite(
        self, scene: Scene, indices: list[int], frames: np.ndarray, casts: dict[str, CastTexture]
    ) -> np.ndarray:
        import torch

        view = _View(scene, indices, self.device)
        image = torch.from_numpy(frames).to(self.device).permute(0, 3, 1, 2).float() / 255
        canvas = _Canvas(image, view)
        for subject in scene.subjects:
            if not subject.cameo_id or subject.cameo_id not in casts:
                continue
            track = scene.motion.tracks[subject.name]
            pose = {
                part: torch.tensor(
                    _at(getattr(track, part), [float(i) for i in indices]), device=self.device
                ).view(-1, 1, 1)
                for part in ("x", "y", "crouch")
            }
            texture = torch.from_numpy(casts[subject.cameo_id].cutout).to(self.device).float() / 255
            _draw_cutout(
                canvas, texture.permute(2, 0, 1).unsqueeze(0), pose, scene.heights[subject.name]
            )
        out = (image.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1)
        return out.cpu().numpy()


def renderer_from_config(backend: str, models_dir: Path, model: str) -> tuple[Any, str]:
    """The configured renderer, or the procedural one with the reason it was used instead."""
    from generation.pipeline.render import ProceduralRenderer

    if backend == "diffusion":
        try:
            return DiffusionRenderer(models_dir / "text-to-video" / model), ""
        except (FileNotFoundError, OSError, ValueError) as exc:
            return ProceduralRenderer(), f"diffusion unavailable ({exc}); procedural used"
    return ProceduralRenderer(), ""

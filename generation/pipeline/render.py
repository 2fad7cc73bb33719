"""Render: frames for every shot as torch tensors, batched, on the GPU when there is one.

The procedural backend draws the scene graph through each shot's camera: the setting, its
props in their state at that moment, the subjects (stylised figures, or a cast cameo's
person cutout), then lighting, colour grade and motion blur. Frames come out in batches as
uint8 HxWx3 arrays, ready for the encoder.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from generation.pipeline.scene import PropState, Scene

PROP_COLORS = {
    "vase": (0.15, 0.4, 0.95),
    "chair": (0.5, 0.3, 0.15),
    "ball": (0.9, 0.15, 0.15),
    "cup": (0.95, 0.95, 0.95),
    "box": (0.75, 0.6, 0.35),
    "lamp": (0.95, 0.85, 0.2),
}
PROP_SIZE = {
    "vase": (0.32, 0.09),
    "chair": (0.8, 0.2),
    "ball": (0.0, 0.15),
    "cup": (0.1, 0.05),
    "box": (0.3, 0.2),
    "lamp": (1.2, 0.06),
}
SKIN = (0.93, 0.76, 0.62)
FALL_SECONDS = 0.25


@dataclass
class CastTexture:
    """A cast cameo as the renderer needs it: the person cutout, RGBA uint8 HxWx4."""

    cutout: np.ndarray


@dataclass
class RenderStats:
    backend: str
    device: str
    frames: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@functools.cache
def _device() -> Any:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def prop_pose(prop: PropState, t: float) -> float:
    """The prop's tilt in radians at time t: 0 upright, pi/2 lying on the floor."""
    if prop.fallen_at_s is None or t < prop.fallen_at_s:
        return 0.0
    return min(1.0, (t - prop.fallen_at_s) / FALL_SECONDS) ** 2 * (math.pi / 2)


class ProceduralRenderer:
    name = "torch-procedural-v1"

    def __init__(self, *, batch_size: int | None = None, blur_samples: int = 2) -> None:
        self.device = _device()
        self.batch_size = batch_size or (32 if self.device.type == "cuda" else 6)
        self.blur_samples = blur_samples

    def render(
        self,
        scene: Scene,
        casts: dict[str, CastTexture] | None = None,
        on_batch: Callable[[int, int], None] | None = None,
        stats: RenderStats | None = None,
    ) -> Iterator[np.ndarray]:
        """Yield frames in order. on_batch(done, total) runs between batches (cancel point)."""
        import torch

        stats = stats or RenderStats(self.name, str(self.device))
        textures = {name: self._texture(c) for name, c in (casts or {}).items()}
        total = scene.frame_count
        with torch.inference_mode():
            for first in range(0, total, self.batch_size):
                started = time.perf_counter()
                indices = list(range(first, min(total, first + self.batch_size)))
                batch = self._frames(scene, indices, textures)
                out = (batch.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1)
                frames = out.cpu().numpy()
                stats.timings["render"] = stats.timings.get("render", 0.0) + (
                    time.perf_counter() - started
                )
                stats.frames += len(indices)
                yield from frames
                if on_batch is not None:
                    on_batch(first + len(indices), total)

    # --- one batch ------------------------------------------------------------------------------
    def _frames(self, scene: Scene, indices: list[int], textures: dict[str, Any]) -> Any:
        view = _View(scene, indices, self.device)
        background = self._backgrounds(scene, view)
        samples = []
        for k in range(self.blur_samples):
            # Sub-frame times across half a frame interval: a 180-degree shutter. The camera
            # stays at the frame's own time, so a sample never crosses a cut.
            offset = -0.5 * k / max(1, self.blur_samples - 1) if k else 0.0
            image = background.clone()
            self._draw_things(image, scene, view, [i + offset for i in indices], textures)
            samples.append(image)
        image = samples[0] if len(samples) == 1 else sum(samples) / len(samples)
        return _grade(image, scene.board.lighting, scene.board.style)

    def _backgrounds(self, scene: Scene, view: _View) -> Any:
        import torch

        # Static shots repeat one camera: draw each distinct view once per batch.
        unique: dict[tuple[float, float, float], int] = {}
        order = [unique.setdefault(cam, len(unique)) for cam in view.cams]
        keys = list(unique)
        sub = _View.for_cameras(scene, keys, self.device)
        plates = _background(scene.board.setting, sub.x, sub.y, sub.px)
        return plates[torch.tensor(order, device=self.device)]

    def _draw_things(
        self, image: Any, scene: Scene, view: _View, frames: list[float], textures: Any
    ) -> None:
        import torch

        dev = self.device
        canvas = _Canvas(image, view)
        times = [f / scene.fps for f in frames]
        for prop in scene.props:
            tilt = torch.tensor([prop_pose(prop, t) for t in times], device=dev).view(-1, 1, 1)
            _draw_prop(canvas, prop, tilt)
        for subject in scene.subjects:
            track = scene.motion.tracks[subject.name]
            pose = {
                part: torch.tensor(_at(getattr(track, part), frames), device=dev).view(-1, 1, 1)
                for part in ("x", "y", "wave", "crouch")
            }
            h = scene.heights[subject.name]
            if subject.cameo_id and subject.cameo_id in textures:
                _draw_cutout(canvas, textures[subject.cameo_id], pose, h)
            elif subject.kind in ("dog", "cat"):
                _draw_animal(canvas, subject.color, pose, h)
            else:
                _draw_person(canvas, subject, pose, h)

    def _texture(self, cast: CastTexture) -> Any:
        import torch

        rgba = torch.from_numpy(np.ascontiguousarray(cast.cutout)).to(self.device).float() / 255
        return rgba.permute(2, 0, 1).unsqueeze(0)  # [1,4,h,w]


def _at(values: np.ndarray, frames: list[float]) -> np.ndarray:
    """Values at fractional frame positions (linear between frames), for motion blur."""
    positions = np.clip(np.asarray(frames, dtype=np.float64), 0, len(values) - 1)
    return np.interp(positions, np.arange(len(values)), values).astype(np.float32)


class _View:
    """World coordinates of every pixel for a batch of cameras, and cropping to a world box."""

    def __init__(
        self,
        scene: Scene,
        indices: list[int],
        device: Any,
        cams: list[tuple[float, float, float]] | None = None,
    ) -> None:
        import torch

        self.w, self.h = scene.width, scene.height
        self.cams = cams or [scene.camera_for(i / scene.fps).at(i / scene.fps) for i in indices]
        cx, cy, vh = (
            torch.tensor([c[k] for c in self.cams], device=device).view(-1, 1, 1) for k in range(3)
        )
        self.px = vh / self.h  # metres per pixel
        u = torch.arange(self.w, device=device, dtype=torch.float32).view(1, 1, self.w) + 0.5
        v = torch.arange(self.h, device=device, dtype=torch.float32).view(1, self.h, 1) + 0.5
        self.x = cx + (u - self.w / 2) * self.px  # [B,1,W]
        self.y = cy + (self.h / 2 - v) * self.px  # [B,H,1]

    @classmethod
    def for_cameras(
        cls, scene: Scene, cams: list[tuple[float, float, float]], device: Any
    ) -> _View:
        return cls(scene, [], device, cams=cams)

    def crop(self, x0: float, x1: float, y0: float, y1: float) -> Callable[[Any], tuple] | None:
        """A function slicing image and grids to the pixels the world box can touch."""
        us, vs = [], []
        for cx, cy, vh in self.cams:
            scale = self.h / vh
            us += [(x0 - cx) * scale + self.w / 2, (x1 - cx) * scale + self.w / 2]
            vs += [self.h / 2 - (y1 - cy) * scale, self.h / 2 - (y0 - cy) * scale]
        u0, u1 = max(0, int(min(us)) - 2), min(self.w, int(max(us)) + 3)
        v0, v1 = max(0, int(min(vs)) - 2), min(self.h, int(max(vs)) + 3)
        if u0 >= u1 or v0 >= v1:
            return None

        def cut(image: Any) -> tuple[Any, Any, Any, Any]:
            return (image[:, :, v0:v1, u0:u1], self.x[:, :, u0:u1], self.y[:, v0:v1, :], self.px)

        return cut


def _bound(value: Any, pick: Callable[[Any], Any]) -> float:
    return float(pick(value)) if hasattr(value, "shape") else float(value)


class _Canvas:
    """Draws shapes into a batch, each one only over the pixels its world box can touch."""

    def __init__(self, image: Any, view: _View) -> None:
        self.image, self.view = image, view

    def capsule(self, ax: Any, ay: Any, bx: Any, by: Any, r: float, rgb: Any) -> None:
        lo = lambda *v: min(_bound(i, lambda t: t.min()) for i in v)  # noqa: E731
        hi = lambda *v: max(_bound(i, lambda t: t.max()) for i in v)  # noqa: E731
        cut = self.view.crop(lo(ax, bx) - r, hi(ax, bx) + r, lo(ay, by) - r, hi(ay, by) + r)
        if cut is None:
            return
        img, x, y, px = cut(self.image)
        _paint(img, _coverage(_segment(x, y, ax, ay, bx, by) - r, px), _color(rgb, x))

    def disc(self, cx: Any, cy: Any, r: float, rgb: Any) -> None:
        self.capsule(cx, cy, cx, cy, r, rgb)


# --- drawing helpers: signed distances on world-coordinate grids --------------------------------
def _color(rgb: Any, like: Any) -> Any:
    import torch

    if hasattr(rgb, "shape"):
        return rgb
    return torch.tensor(rgb, device=like.device, dtype=torch.float32).view(1, 3, 1, 1)


def _paint(image: Any, alpha: Any, rgb: Any) -> None:
    a = alpha.unsqueeze(1)
    image.mul_(1 - a).add_(a * rgb)


def _coverage(distance: Any, px: Any) -> Any:
    """Anti-aliased coverage of a shape from its signed distance (world units)."""
    return (0.5 - distance / px).clamp(0, 1)


def _segment(x: Any, y: Any, ax: Any, ay: Any, bx: Any, by: Any) -> Any:
    pax, pay, bax, bay = x - ax, y - ay, bx - ax, by - ay
    t = ((pax * bax + pay * bay) / (bax * bax + bay * bay + 1e-9)).clamp(0, 1)
    return ((pax - bax * t) ** 2 + (pay - bay * t) ** 2).sqrt()


def _hash(n: Any) -> Any:
    return ((n * 12.9898).sin() * 43758.5453).frac().abs()


def _background(setting: str, x: Any, y: Any, px: Any) -> Any:
    import torch

    b, w, hgt = x.shape[0], x.shape[2], y.shape[1]
    xs, ys = x.expand(b, hgt, w), y.expand(b, hgt, w)
    sky_top, sky_low = SKY.get(setting, SKY["studio"])
    t = ((ys - 0.0) / 6.0).clamp(0, 1).unsqueeze(1)
    image = _color(sky_low, xs) * (1 - t) + _color(sky_top, xs) * t
    floor = (ys < 0).float()
    draw = BACKDROPS.get(setting)
    if draw is not None:
        draw(image, xs, ys, px)
    floor_rgb = _floor(setting, xs, ys)
    image = image * (1 - floor.unsqueeze(1)) + floor_rgb * floor.unsqueeze(1)
    return image.contiguous() if torch.is_tensor(image) else image


SKY = {
    "studio": ((0.82, 0.82, 0.85), (0.95, 0.95, 0.96)),
    "kitchen": ((0.93, 0.88, 0.78), (0.96, 0.92, 0.84)),
    "office": ((0.80, 0.84, 0.88), (0.90, 0.92, 0.94)),
    "beach": ((0.35, 0.6, 0.95), (0.75, 0.88, 1.0)),
    "park": ((0.4, 0.65, 0.95), (0.8, 0.9, 1.0)),
    "forest": ((0.45, 0.6, 0.75), (0.7, 0.8, 0.85)),
    "street": ((0.5, 0.65, 0.85), (0.85, 0.88, 0.92)),
}


def _floor(setting: str, x: Any, y: Any) -> Any:
    if setting == "kitchen":
        checker = ((x * 2).floor() + (y * 4).floor()).remainder(2).unsqueeze(1)
        return _color((0.15, 0.15, 0.15), x) * checker + _color((0.92, 0.92, 0.9), x) * (
            1 - checker
        )
    if setting == "beach":
        grain = 0.04 * _hash((x * 40).floor() + (y * 40).floor() * 57).unsqueeze(1)
        return _color((0.9, 0.82, 0.6), x) + grain
    if setting in ("park", "forest"):
        stripe = 0.05 * (x * 3).sin().unsqueeze(1)
        return _color((0.25, 0.55, 0.2) if setting == "park" else (0.2, 0.35, 0.15), x) + stripe
    if setting == "street":
        dash = (((x * 0.5).frac() < 0.5) & (y > -0.6) & (y < -0.5)).float().unsqueeze(1)
        return _color((0.25, 0.25, 0.27), x) * (1 - dash) + _color((0.95, 0.9, 0.3), x) * dash
    shade = (1 + y / 3).clamp(0.6, 1).unsqueeze(1)
    base = (0.55, 0.5, 0.45) if setting == "office" else (0.78, 0.78, 0.8)
    return _color(base, x) * shade


def _kitchen(image: Any, x: Any, y: Any, px: Any) -> None:
    tiles = ((y > 0.95) & (y < 1.5)).float()
    grid = (((x * 6).frac() < 0.06) | ((y * 6).frac() < 0.06)).float()
    _paint(image, tiles * (1 - grid) * 0.5, _color((0.6, 0.8, 0.85), x))
    _paint(image, ((y >= 0) & (y < 0.9)).float(), _color((0.45, 0.3, 0.2), x))
    _paint(image, ((y >= 0.88) & (y < 0.95)).float(), _color((0.82, 0.82, 0.85), x))
    doors = (((x * 1.5).frac() < 0.03) & (y < 0.85)).float()
    _paint(image, doors, _color((0.3, 0.2, 0.12), x))


def _office(image: Any, x: Any, y: Any, px: Any) -> None:
    windows = (((x * 0.4).frac() > 0.2) & ((x * 0.4).frac() < 0.8) & (y > 1.0) & (y < 2.4)).float()
    _paint(image, windows, _color((0.7, 0.85, 0.95), x))
    _paint(image, ((y >= 0.7) & (y < 0.76)).float(), _color((0.6, 0.45, 0.3), x))


def _beach(image: Any, x: Any, y: Any, px: Any) -> None:
    sea = (y < 0.6 + 0.03 * (x * 4).sin()).float()
    _paint(image, sea, _color((0.1, 0.45, 0.7), x))
    foam = ((y - 0.6 - 0.03 * (x * 4).sin()).abs() < 0.02).float()
    _paint(image, foam, _color((0.95, 0.97, 1.0), x))


def _trees(spacing: float, dark: float) -> Callable[[Any, Any, Any, Any], None]:
    def draw(image: Any, x: Any, y: Any, px: Any) -> None:
        hills = (y < 0.8 + 0.3 * (x * 0.5).sin()).float()
        _paint(image, hills, _color((0.3 * dark, 0.5 * dark, 0.25 * dark), x))
        cell = (x / spacing).floor()
        local = x - (cell + 0.5) * spacing
        jitter = _hash(cell) * 0.8 + 1.6
        trunk = ((local.abs() < 0.12) & (y < jitter)).float()
        _paint(image, trunk, _color((0.35 * dark, 0.22 * dark, 0.1 * dark), x))
        # A crown is wider than half the spacing: draw the neighbours' crowns too, or each
        # would be cut off straight at its cell's edge.
        crown = None
        for offset in (-1, 0, 1):
            near = cell + offset
            lx = x - (near + 0.5) * spacing
            top = _hash(near) * 0.8 + 1.6
            cover = _coverage(((lx**2 + (y - top - 0.5) ** 2).sqrt() - 0.9), px)
            crown = cover if crown is None else crown.maximum(cover)
        _paint(image, crown, _color((0.15 * dark, 0.45 * dark, 0.15 * dark), x))

    return draw


def _street(image: Any, x: Any, y: Any, px: Any) -> None:
    cell = (x / 2.5).floor()
    top = 3.0 + 4.0 * _hash(cell)
    building = (y < top).float()
    tint = 0.4 + 0.3 * _hash(cell + 7).unsqueeze(1)
    image.mul_(1 - building.unsqueeze(1)).add_(
        building.unsqueeze(1) * tint * _color((1, 0.95, 0.9), x)
    )
    lit = (((x * 2).frac() < 0.5) & ((y * 2).frac() < 0.5) & (y > 0.6) & (y < top - 0.3)).float()
    _paint(image, lit * 0.7, _color((0.95, 0.9, 0.6), x))


BACKDROPS: dict[str, Callable[[Any, Any, Any, Any], None]] = {
    "kitchen": _kitchen,
    "office": _office,
    "beach": _beach,
    "park": _trees(3.0, 1.0),
    "forest": _trees(1.3, 0.7),
    "street": _street,
}


def _draw_prop(canvas: _Canvas, prop: PropState, tilt: Any) -> None:
    length, radius = PROP_SIZE.get(prop.name, (0.3, 0.1))
    base_x, base_y = prop.x, radius  # resting on the floor: never below it
    canvas.capsule(
        base_x,
        base_y,
        base_x + length * tilt.sin(),
        base_y + length * tilt.cos(),
        radius,
        PROP_COLORS.get(prop.name, (0.6, 0.6, 0.6)),
    )


def _draw_person(canvas: _Canvas, subject: Any, pose: dict[str, Any], h: float) -> None:
    fx, fy = pose["x"], pose["y"]
    squash = 1 - pose["crouch"]
    hip, shoulder, head = fy + 0.47 * h * squash, fy + 0.8 * h * squash, fy + 0.9 * h * squash
    cloth = tuple(c / 255 for c in subject.color)
    limb = 0.045 * h
    for side in (-1, 1):
        canvas.capsule(
            fx + side * 0.05 * h, hip, fx + side * 0.07 * h, fy + limb, limb, (0.2, 0.22, 0.3)
        )
    canvas.capsule(fx, hip + 0.05 * h, fx, shoulder - 0.02 * h, 0.11 * h, cloth)
    for side in (-1, 1):
        hand_y = shoulder - 0.3 * h + (0.55 * h * pose["wave"] if side == 1 else 0)
        canvas.capsule(
            fx + side * 0.12 * h, shoulder - 0.03 * h, fx + side * 0.2 * h, hand_y, 0.035 * h, cloth
        )
    canvas.disc(fx, head, 0.075 * h, SKIN)
    for side in (-1, 1):
        canvas.disc(fx + side * 0.025 * h, head + 0.01 * h, 0.008 * h, (0.1, 0.1, 0.1))


def _draw_animal(
    canvas: _Canvas, rgb: tuple[int, int, int], pose: dict[str, Any], h: float
) -> None:
    fx, fy = pose["x"], pose["y"]
    fur = tuple(c / 255 for c in rgb)
    canvas.capsule(fx - 0.35 * h, fy + 0.6 * h, fx + 0.35 * h, fy + 0.6 * h, 0.22 * h, fur)
    for dx in (-0.3, -0.15, 0.15, 0.3):
        canvas.capsule(fx + dx * h, fy + 0.5 * h, fx + dx * h, fy + 0.06 * h, 0.06 * h, fur)
    canvas.disc(fx + 0.5 * h, fy + 0.85 * h, 0.18 * h, fur)


def _draw_cutout(canvas: _Canvas, texture: Any, pose: dict[str, Any], h: float) -> None:
    """Place the cameo's person cutout in the world: feet on the floor, height h."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    _, _, th, tw = texture.shape
    width = h * tw / th
    cut = canvas.view.crop(
        float(pose["x"].min()) - width / 2,
        float(pose["x"].max()) + width / 2,
        float(pose["y"].min()),
        float(pose["y"].max()) + h,
    )
    if cut is None:
        return
    image, x, y, _ = cut(canvas.image)
    b, hgt, w = image.shape[0], image.shape[2], image.shape[3]
    height = h * (1 - pose["crouch"])
    gx = ((x - pose["x"]) / (width / 2)).expand(b, hgt, w)
    gy = (1 - 2 * (y - pose["y"]) / height).expand(b, hgt, w)
    sampled = F.grid_sample(
        texture.expand(b, -1, -1, -1),
        torch.stack([gx, gy], dim=-1),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )
    alpha = sampled[:, 3:4]
    image.mul_(1 - alpha).add_(alpha * sampled[:, :3])


# --- light and grade --------------------------------------------------------------------------
LIGHT = {
    "day": (1.0, 1.0, 1.0),
    "night": (0.35, 0.42, 0.62),
    "golden_hour": (1.1, 0.92, 0.72),
    "studio": (1.04, 1.04, 1.04),
}


def _grade(image: Any, lighting: str, style: str) -> Any:
    import torch

    image = image * _color(LIGHT.get(lighting, LIGHT["day"]), image)
    if lighting in ("night", "studio"):
        b, _, h, w = image.shape
        yy = torch.linspace(-1, 1, h, device=image.device).view(1, 1, h, 1)
        xx = torch.linspace(-1, 1, w, device=image.device).view(1, 1, 1, w)
        image = image * (1 - 0.35 * (xx**2 + yy**2).clamp(0, 1))
    luma = (image * _color((0.299, 0.587, 0.114), image)).sum(1, keepdim=True)
    if style == "noir":
        return ((luma - 0.5) * 1.4 + 0.5).expand(-1, 3, -1, -1)
    if style == "vivid":
        return luma + (image - luma) * 1.45
    if style == "pastel":
        return 0.25 + 0.75 * (luma + (image - luma) * 0.6)
    if style == "cinematic":
        curved = image * image * (3 - 2 * image.clamp(0, 1))
        tint = (
            _color((0.95, 1.0, 1.08), image) * (1 - luma) + _color((1.08, 1.0, 0.9), image) * luma
        )
        return curved * tint
    return image

"""Synthetic cameo capture clips built from real face photos, with spoken digits from espeak-ng.

A head turn is a real geometric change of the face: each photo's face is given a depth (an
ellipsoid head with a nose ridge), rotated about the vertical axis and re-projected, so the nose
moves across the face and the far cheek is compressed, as in a filmed turn.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.media import write_clip

AUDIO_RATE = 22_050  # what espeak-ng writes


@dataclass(frozen=True)
class Photo:
    image: np.ndarray  # BGR
    face_center: tuple[float, float]
    face_width: float
    nose: tuple[float, float]


@dataclass(frozen=True)
class Shot:
    """One subject in the frame: a photo placed so that its face has a given width and centre."""

    photo: str = "astronaut"  # astronaut | tom_hanks | t1_face | corpus:<face_photos key>
    face_width: float = 0.36  # fraction of the frame's width
    center: tuple[float, float] = (0.5, 0.4)  # face centre, fractions of width and height
    start_s: float = 0.0  # shown from this time on (later shots replace earlier ones)


@dataclass(frozen=True)
class Capture:
    seconds: float = 5.0
    size: tuple[int, int] = (360, 480)  # width, height: portrait, as a phone records a selfie
    fps: int = 12
    shots: tuple[Shot, ...] = (Shot(),)
    extra_shots: tuple[Shot, ...] = ()  # shown all the time beside the main one
    turn: str | None = "left"  # the subject's own left, as an unmirrored camera sees it
    turn_deg: float = 35.0
    turn_window: tuple[float, float] = (2.6, 4.6)
    # Several turns, each (direction, start_s, end_s); when given, turn and turn_window are unused
    turns: tuple[tuple[str, float, float], ...] | None = None
    digits: str | None = "4827"  # None: no speech, only the room's noise
    speech_at: float = 0.8
    voice_pitch: int = 50  # espeak-ng -p
    audio: bool = True
    blur_sigma: float = 0.0
    gain: float = 1.0  # multiplies pixel values: < 1 darkens, > 1 blows out
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per-channel gain (B, G, R): white balance
    noise_sigma: float = 0.0  # sensor noise, grey levels
    crf: int = 18  # H.264 quality of the stored clip
    # A presentation attack: "print" is a photo of the scene held up and turned as a plane;
    # "screen" is the same picture shown on a phone screen (bezel, pixel grid, glare).
    attack: str | None = None


def answering(challenge: dict, **changes: object) -> Capture:
    """A capture that does what the service's challenge asks, as a user following the app does:
    reads the digits just after they appear, turns while each arrow shows."""
    spec = Capture(
        seconds=challenge["record_seconds"],
        digits=challenge["digits"],
        speech_at=challenge["digits_shown_at"] + 0.3,
        turns=tuple((t["direction"], t["from_s"], t["to_s"]) for t in challenge["turns"]),
    )
    return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]


def build_capture(path: Path, spec: Capture = Capture()) -> Path:
    frames = (render_frame(spec, i / spec.fps) for i in range(int(round(spec.seconds * spec.fps))))
    return write_clip(
        path,
        frames,
        size=spec.size,
        fps=spec.fps,
        seconds=spec.seconds,
        audio=room_audio(spec) if spec.audio else None,
        audio_rate=AUDIO_RATE,
        crf=spec.crf,
    )


# --- video ------------------------------------------------------------------------------------
def render_frame(spec: Capture, t: float) -> np.ndarray:
    import cv2

    width, height = spec.size
    frame = background(width, height).copy()
    yaw = turn_angle(spec, t)
    shots = [s for s in spec.shots if s.start_s <= t][-1:] + list(spec.extra_shots)
    for shot in shots:
        _paste(frame, shot, 0.0 if spec.attack else yaw)
    if spec.attack:
        picture = _screen(frame) if spec.attack == "screen" else frame
        centre = (shots[0].center[0] * width, shots[0].center[1] * height) if shots else None
        frame = plane_turned(
            picture, yaw, centre or (width / 2, height / 2), background(width, height)
        )
    if spec.blur_sigma:
        frame = cv2.GaussianBlur(frame, (0, 0), spec.blur_sigma)
    if spec.gain != 1.0 or spec.tint != (1.0, 1.0, 1.0) or spec.noise_sigma:
        graded = frame.astype(np.float32) * spec.gain * np.array(spec.tint, np.float32)
        if spec.noise_sigma:
            noise = np.random.default_rng(int(t * 1000)).normal(0, spec.noise_sigma, frame.shape)
            graded += noise.astype(np.float32)
        frame = np.clip(graded, 0, 255).astype(np.uint8)
    return frame


def turn_angle(spec: Capture, t: float) -> float:
    """Degrees; positive is the subject's left (their nose moves to the image's right)."""
    turns = spec.turns if spec.turns is not None else ((spec.turn, *spec.turn_window),)
    for turn, start, end in turns:
        if turn is not None and start <= t <= end:
            sign = 1.0 if turn == "left" else -1.0
            return sign * spec.turn_deg * math.sin(math.pi * (t - start) / (end - start))
    return 0.0


def _paste(frame: np.ndarray, shot: Shot, yaw_deg: float) -> None:
    import cv2

    photo = load_photo(shot.photo)
    height, width = frame.shape[:2]
    scale = shot.face_width * width / photo.face_width
    image = turned(photo, yaw_deg) if yaw_deg else photo.image
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    x = int(round(shot.center[0] * width - photo.face_center[0] * scale))
    y = int(round(shot.center[1] * height - photo.face_center[1] * scale))
    fx0, fy0 = max(0, x), max(0, y)
    fx1, fy1 = min(width, x + image.shape[1]), min(height, y + image.shape[0])
    frame[fy0:fy1, fx0:fx1] = image[fy0 - y : fy1 - y, fx0 - x : fx1 - x]


def turned(photo: Photo, yaw_deg: float) -> np.ndarray:
    """The photo with its head rotated by yaw_deg about the vertical axis, then re-projected."""
    import cv2

    height, width = photo.image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    theta = math.radians(yaw_deg)
    cx, cy = photo.face_center
    a = 0.62 * photo.face_width  # head half-width, ears included
    b = 1.35 * a
    nx, ny = photo.nose

    def displacement(x: np.ndarray) -> np.ndarray:
        r2 = ((x - cx) / a) ** 2 + ((ys - cy) / b) ** 2
        head = 0.75 * a * np.clip(1.0 - r2, 0.0, None)
        ridge = ((x - nx) / (0.13 * a)) ** 2 + ((ys - (ny - 0.25 * a)) / (0.45 * a)) ** 2
        depth = head + 0.32 * a * np.exp(-0.5 * ridge)
        weight = np.clip((1.45 - np.sqrt(r2)) / 0.45, 0.0, 1.0)  # the head, fading into the rest
        return weight * ((x - cx) * (math.cos(theta) - 1.0) + depth * math.sin(theta))

    # Inverse mapping for remap: find the source x whose turned position is this pixel.
    source = xs.copy()
    for _ in range(8):
        source = xs - displacement(source)
    return cv2.remap(photo.image, source, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def plane_turned(
    picture: np.ndarray, yaw_deg: float, centre: tuple[float, float], behind: np.ndarray
) -> np.ndarray:
    """The picture as a flat sheet turned by yaw_deg about the vertical line through `centre`,
    seen through a pinhole camera (focal length one frame width), over `behind`."""
    import cv2

    height, width = picture.shape[:2]
    f, (cx, cy) = float(width), centre
    theta = math.radians(-yaw_deg)  # the sheet's right edge going away: the face looks left
    camera = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1]])
    plane = np.array(
        [[math.cos(theta), 0, 0], [0, 1, 0], [-math.sin(theta), 0, f]], dtype=np.float64
    )
    shift = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=np.float64)
    homography = camera @ plane @ shift
    turned_picture = cv2.warpPerspective(picture, homography, (width, height))
    inside = cv2.warpPerspective(
        np.full((height, width), 255, np.uint8), homography, (width, height)
    )
    out = behind.copy()
    out[inside > 127] = turned_picture[inside > 127]
    return out


def _screen(picture: np.ndarray) -> np.ndarray:
    """The picture as a phone screen shows it when filmed: a black bezel, a faint pixel grid,
    a cooler white point and a soft glare."""
    height, width = picture.shape[:2]
    shown = picture.astype(np.float32) * np.array([1.05, 0.98, 0.9], np.float32)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    shown *= (0.92 + 0.08 * np.cos(xs * 2.1) * np.cos(ys * 2.1))[..., None]
    shown += (
        40
        * np.exp(
            -(
                ((xs - 0.7 * width) / (0.2 * width)) ** 2
                + ((ys - 0.25 * height) / (0.15 * height)) ** 2
            )
        )[..., None]
    )
    border = max(4, width // 20)
    shown[:border], shown[-border:], shown[:, :border], shown[:, -border:] = 12, 12, 12, 12
    return np.clip(shown, 0, 255).astype(np.uint8)


@functools.cache
def background(width: int, height: int) -> np.ndarray:
    """A room: a lit wall with a door and a shelf, and camera noise."""
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    wall = 150 + 60 * (xs / width) - 40 * (ys / height)
    image = np.stack([wall * 0.85, wall * 0.95, wall], axis=-1)
    image[int(0.15 * height) :, int(0.05 * width) : int(0.25 * width)] = (60, 90, 120)
    image[int(0.3 * height) : int(0.33 * height), int(0.65 * width) :] = (40, 60, 80)
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


@functools.cache
def load_photo(name: str) -> Photo:
    import cv2

    if name == "astronaut":
        from skimage import data

        image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    elif name == "tom_hanks":
        image = cv2.imread(str(insightface_image("Tom_Hanks_54745.png")))
        image = cv2.copyMakeBorder(image, 40, 80, 60, 60, cv2.BORDER_REPLICATE)
    elif name == "t1_face":
        # The leftmost face of insightface's group photo, with the people beside it cropped off.
        group = cv2.imread(str(insightface_image("t1.jpg")))
        face = sorted(_detect(group, full_range=True), key=lambda f: f[0][0])[0]
        cx, cy = face[0][0] + face[0][2] / 2, face[0][1] + face[0][3] / 2
        half = 0.85 * face[0][2]
        image = group[max(0, int(cy - 1.3 * half)) : int(cy + 2.2 * half)]
        image = image[:, max(0, int(cx - half)) : int(cx + half)]
    elif name == "t1_three_quarter":
        # The man at the top right of insightface's group photo, in three-quarter view.
        group = cv2.imread(str(insightface_image("t1.jpg")))
        image = cv2.copyMakeBorder(group[0:257, 819:1058], 18, 0, 0, 0, cv2.BORDER_REPLICATE)
    elif name.startswith("corpus:"):  # a photo of tests/face_photos.py, by its key
        from tests import face_photos

        return face_photos.load_key(name.removeprefix("corpus:"))
    else:
        raise ValueError(name)
    faces = _detect(image, full_range=True)
    if len(faces) != 1:
        raise AssertionError(f"{name}: expected one face, found {len(faces)}")
    (x, y, w, h), nose = faces[0]
    return Photo(image, (x + w / 2, y + h / 2), w, nose)


def _detect(
    image: np.ndarray, *, full_range: bool
) -> list[tuple[tuple[float, float, float, float], tuple[float, float]]]:
    """Face boxes (x, y, w, h) and nose tips, to know where each photo's face is."""
    import mediapipe as mp

    height, width = image.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=int(full_range)) as detector:
        result = detector.process(np.ascontiguousarray(image[:, :, ::-1]))
    faces = []
    for d in result.detections or []:
        box = d.location_data.relative_bounding_box
        nose = d.location_data.relative_keypoints[2]
        faces.append(
            (
                (box.xmin * width, box.ymin * height, box.width * width, box.height * height),
                (nose.x * width, nose.y * height),
            )
        )
    return faces


def insightface_image(name: str) -> Path:
    import insightface

    return Path(insightface.__file__).parent / "data" / "images" / name


# --- audio ------------------------------------------------------------------------------------
def room_audio(spec: Capture) -> np.ndarray:
    """Float samples at AUDIO_RATE: a quiet room, with the digits spoken from speech_at."""
    rng = np.random.default_rng(11)
    samples = rng.normal(0, 0.002, int(spec.seconds * AUDIO_RATE)).astype(np.float32)
    if spec.digits:
        speech = spoken_digits(spec.digits, pitch=spec.voice_pitch)
        start = int(spec.speech_at * AUDIO_RATE)
        end = min(len(samples), start + len(speech))
        samples[start:end] += speech[: end - start]
    return samples


@functools.cache
def spoken_digits(digits: str, *, pitch: int = 50, speed: int = 150) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install -y espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "digits.wav"
        text = " ".join(digits)
        subprocess.run(
            [exe, "-v", "en", "-p", str(pitch), "-s", str(speed), "-w", str(out), text],
            check=True,
            timeout=30,
        )
        rate, samples = read_wav(out)
    if rate != AUDIO_RATE:
        raise AssertionError(f"espeak-ng wrote {rate} Hz")
    return 0.5 * samples / max(1e-6, float(np.abs(samples).max()))


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path), "rb") as src:
        rate, channels = src.getframerate(), src.getnchannels()
        pcm = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    return rate, pcm.reshape(-1, channels).mean(axis=1).astype(np.float32) / 32768

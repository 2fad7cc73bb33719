"""Motion: subject trajectories over the whole video, following simple physics.

A jump is a ballistic arc under gravity whose take-off and landing fall on frame times, walking
keeps a foot on the ground with a contact every step, nothing goes below the floor (y = 0).
Contacts and impacts come out as sound events for the audio stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from generation.pipeline.timeline import SoundEvent

GRAVITY = 9.81  # m/s^2
JUMP_SPEED = 3.0  # m/s at take-off: about 0.46 m of air, 0.6 s aloft
WALK_SPEED, WALK_STEP = 1.2, 0.5  # m/s, seconds per step
RUN_SPEED, RUN_STEP = 3.0, 0.3
MOVE_SECONDS = 1.5


@dataclass(frozen=True)
class TimedAction:
    subject: str
    verb: str
    start_s: float  # global time
    target_x: float | None = None  # where a knock_over goes


@dataclass
class Track:
    """One subject's state at every frame: position in metres and a pose phase."""

    name: str
    x: np.ndarray
    y: np.ndarray  # height of the feet above the floor
    wave: np.ndarray  # 0..1 arm raise
    crouch: np.ndarray  # 0..1, sitting and landing squash
    airborne: np.ndarray  # bool


@dataclass
class Motion:
    fps: int
    tracks: dict[str, Track]
    events: list[SoundEvent] = field(default_factory=list)
    prop_falls: dict[str, float] = field(default_factory=dict)  # prop -> time it fell


def _frame(t: float, fps: int) -> int:
    return int(round(t * fps))


def simulate(
    *,
    fps: int,
    duration_s: float,
    starts: dict[str, float],
    actions: list[TimedAction],
    props_x: dict[str, float],
) -> Motion:
    frames = _frame(duration_s, fps)
    motion = Motion(fps=fps, tracks={})
    for name, x0 in starts.items():
        track = Track(
            name=name,
            x=np.full(frames, x0),
            y=np.zeros(frames),
            wave=np.zeros(frames),
            crouch=np.zeros(frames),
            airborne=np.zeros(frames, dtype=bool),
        )
        for action in sorted((a for a in actions if a.subject == name), key=lambda a: a.start_s):
            _apply(track, action, motion, props_x)
        motion.tracks[name] = track
    motion.events.sort(key=lambda e: e.time_s)
    return motion


def _apply(track: Track, action: TimedAction, motion: Motion, props: dict[str, float]) -> None:
    fps, n = motion.fps, len(track.x)
    start = _frame(action.start_s, fps)
    if start >= n:
        return
    if action.verb == "jump":
        _jump(track, start, motion)
    elif action.verb in ("walk", "run"):
        speed, step = (WALK_SPEED, WALK_STEP) if action.verb == "walk" else (RUN_SPEED, RUN_STEP)
        _travel(track, start, motion, speed=speed, step=step, to_x=None)
    elif action.verb == "knock_over" and action.target_x is not None:
        arrive = _travel(
            track, start, motion, speed=WALK_SPEED, step=WALK_STEP, to_x=action.target_x - 0.35
        )
        name = next(p for p, x in props.items() if x == action.target_x)
        fall_t = min(arrive, n - 1) / fps
        motion.prop_falls.setdefault(name, fall_t)
        motion.events.append(SoundEvent("impact", fall_t, subject=track.name, strength=0.9))
    elif action.verb == "wave":
        end = min(n, start + _frame(MOVE_SECONDS, fps))
        phase = np.arange(end - start) / fps
        track.wave[start:end] = 0.5 + 0.5 * np.sin(2 * np.pi * 2.0 * phase)
    elif action.verb == "sit":
        track.crouch[start:] = np.clip((np.arange(n - start) / fps) / 0.4, 0, 1) * 0.45
    elif action.verb == "dance":
        end = min(n, start + _frame(MOVE_SECONDS * 2, fps))
        for beat in range(start, end, max(1, _frame(0.5, fps))):
            _jump(track, beat, motion, speed=1.2)


def _jump(track: Track, start: int, motion: Motion, speed: float = JUMP_SPEED) -> None:
    fps, n = motion.fps, len(track.x)
    # Air time rounded to whole frames, and take-off speed matched to it, so the landing
    # happens exactly on a frame: the arc stays a true parabola under GRAVITY.
    air_frames = max(2, int(round(2 * speed / GRAVITY * fps)))
    v0 = GRAVITY * air_frames / fps / 2
    land = start + air_frames
    if land >= n:
        return
    tau = np.arange(air_frames + 1) / fps
    base = track.y[start]
    track.y[start : land + 1] = base + np.maximum(0.0, v0 * tau - GRAVITY * tau**2 / 2)
    track.airborne[start + 1 : land] = True
    squash = min(n, land + _frame(0.15, fps)) - land
    track.crouch[land : land + squash] = np.maximum(
        track.crouch[land : land + squash], np.linspace(0.25, 0.0, squash)
    )
    motion.events.append(SoundEvent("takeoff", start / fps, subject=track.name, strength=0.4))
    motion.events.append(SoundEvent("landing", land / fps, subject=track.name, strength=1.0))


def _travel(
    track: Track, start: int, motion: Motion, *, speed: float, step: float, to_x: float | None
) -> int:
    """Move along the floor from `start`; returns the frame of arrival."""
    fps, n = motion.fps, len(track.x)
    x0 = track.x[start]
    distance = (to_x - x0) if to_x is not None else speed * MOVE_SECONDS
    frames = max(1, _frame(abs(distance) / speed, fps))
    end = min(n - 1, start + frames)
    path = np.linspace(x0, x0 + distance, frames + 1)[: end - start + 1]
    track.x[start : end + 1] = path
    track.x[end + 1 :] = path[-1]
    step_frames = max(1, _frame(step, fps))
    for contact in range(start + step_frames, end + 1, step_frames):
        motion.events.append(
            SoundEvent(
                "footstep", contact / fps, subject=track.name, strength=0.35 if speed < 2 else 0.6
            )
        )
    return end

"""Scene: one world for the whole video, seen by one virtual camera per shot.

Subjects, props and their state live in world coordinates (metres, floor at y = 0) and in
global time, so a prop knocked over in one shot is still on the floor in every later shot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from generation.pipeline.motion import Motion, TimedAction, simulate
from generation.pipeline.storyboard import Storyboard, Subject
from generation.pipeline.timeline import (
    LINE_GAP_S,
    DialogueLine,
    ShotSpan,
    SoundEvent,
    Timeline,
    VoiceSpec,
)

# How many metres of world the frame's height shows, per framing.
VIEW_HEIGHT = {"establishing": 7.0, "wide": 4.0, "medium": 2.2, "close_up": 0.8}
# Where the camera looks, in metres above the floor.
LOOK_HEIGHT = {"establishing": 2.4, "wide": 1.4, "medium": 1.0, "close_up": 1.55}
SUBJECT_HEIGHT = {"person": 1.75, "robot": 1.6, "dog": 0.6, "cat": 0.35}


@dataclass(frozen=True)
class Camera:
    shot: ShotSpan
    center_x: tuple[float, float]  # at the start and end of the shot
    center_y: tuple[float, float]
    view_height: tuple[float, float]

    def at(self, t: float) -> tuple[float, float, float]:
        span = max(1e-6, self.shot.end_s - self.shot.start_s)
        a = min(1.0, max(0.0, (t - self.shot.start_s) / span))
        ease = a * a * (3 - 2 * a)  # smoothstep: camera moves start and stop gently
        lerp = lambda pair: pair[0] + (pair[1] - pair[0]) * ease  # noqa: E731
        return lerp(self.center_x), lerp(self.center_y), lerp(self.view_height)


@dataclass(frozen=True)
class PropState:
    name: str
    x: float
    fallen_at_s: float | None  # None: stays upright


@dataclass
class Scene:
    board: Storyboard
    width: int
    height: int
    fps: int
    duration_s: float
    subjects: list[Subject]
    heights: dict[str, float]
    props: list[PropState]
    cameras: list[Camera]
    motion: Motion
    timeline: Timeline
    instructions: dict[str, str] = field(default_factory=dict)  # cameo owner's portrayal notes

    @property
    def frame_count(self) -> int:
        return int(round(self.duration_s * self.fps))

    def camera_for(self, t: float) -> Camera:
        for camera in self.cameras:
            if camera.shot.start_s <= t < camera.shot.end_s:
                return camera
        return self.cameras[-1]


def build_scene(
    board: Storyboard,
    *,
    voices: dict[str, VoiceSpec] | None = None,
    size: tuple[int, int] | None = None,
) -> Scene:
    """Lay the storyboard out in one world and global time. `size` overrides the aspect's
    default resolution (previews, tests); it must keep the aspect's shape."""
    board.validate()
    width, height = size or board.size
    # Subjects spread across the stage; one stands in the middle; an empty set is a plate.
    count = len(board.subjects)
    starts = {
        s.name: (-0.9 + 1.8 * i / (count - 1)) if count > 1 else 0.0
        for i, s in enumerate(board.subjects)
    }
    props_x = {p.name: p.x for p in board.props}
    spans, actions, dialogue, extra = _global_times(board, props_x)
    duration = spans[-1].end_s
    motion = simulate(
        fps=board.fps, duration_s=duration, starts=starts, actions=actions, props_x=props_x
    )
    cameras = [_camera(span, board, motion) for span in spans]
    events = sorted(motion.events + extra + _camera_whooshes(cameras), key=lambda e: e.time_s)
    timeline = Timeline(
        fps=board.fps,
        duration_s=duration,
        width=width,
        height=height,
        shots=spans,
        dialogue=dialogue,
        events=events,
        setting=board.setting,
        mood=board.mood,
        voices=voices or {},
    )
    return Scene(
        board=board,
        width=width,
        height=height,
        fps=board.fps,
        duration_s=duration,
        subjects=board.subjects,
        heights={s.name: SUBJECT_HEIGHT.get(s.kind, 1.7) for s in board.subjects},
        props=[PropState(p.name, p.x, motion.prop_falls.get(p.name)) for p in board.props],
        cameras=cameras,
        motion=motion,
        timeline=timeline,
    )


SECONDS_PER_WORD = 0.42  # espeak-ng at 165 words a minute, with a margin for pauses
MAX_SECONDS = 20.0


def spoken_seconds(text: str) -> float:
    return 0.3 + SECONDS_PER_WORD * len(text.split())


def fit_dialogue(
    board: Storyboard,
    measure: Callable[[str, str], float] | None = None,
    max_seconds: float = MAX_SECONDS,
) -> list[int]:
    """Lengthen shots whose lines would outrun them, within the video's length limit.

    `measure(speaker, text)` gives a line's spoken seconds (the pipeline voices it to know;
    the default estimates from the word count). A line cut off mid-word is worse than a
    slightly longer video. Returns the shots that grew.
    """
    measure = measure or (lambda speaker, text: spoken_seconds(text))
    grown = []
    shot_start = free_from = 0.0
    for index, shot in enumerate(board.shots):
        # Lines are placed as the audio stage places them: at their time, or after the line
        # before ends (plus a breath) if that one is still being spoken, even from a shot before.
        needed = 0.0
        for line in sorted(shot.dialogue, key=lambda line: line.at_s):
            begin = max(shot_start + line.at_s, free_from)
            end = begin + measure(line.speaker, line.text)
            free_from = end + LINE_GAP_S
            needed = max(needed, end - shot_start)
        spare = max_seconds - board.duration_s
        if needed + 0.2 > shot.duration_s and spare > 0:
            shot.duration_s = round(min(needed + 0.2, shot.duration_s + spare), 3)
            grown.append(index)
        shot_start += shot.duration_s
    return grown


def _global_times(
    board: Storyboard, props_x: dict[str, float]
) -> tuple[list[ShotSpan], list[TimedAction], list[DialogueLine], list[SoundEvent]]:
    spans, actions, dialogue, extra = [], [], [], []
    t = 0.0
    frame = 1.0 / board.fps
    for i, shot in enumerate(board.shots):
        # Shot boundaries fall on frame times so cuts, music sections and frames agree.
        end = round(round((t + shot.duration_s) * board.fps) * frame, 6)
        spans.append(ShotSpan(i, t, end, shot.framing, shot.camera_move))
        for action in shot.actions:
            target = props_x.get(action.target) if action.target else None
            actions.append(TimedAction(action.subject, action.verb, t + action.at_s, target))
        for line in shot.dialogue:
            dialogue.append(DialogueLine(line.speaker, line.text, t + line.at_s))
        for sound in shot.sounds:
            extra.append(SoundEvent(sound, t + shot.duration_s / 2))
        t = end
    return spans, actions, dialogue, extra


def _camera(span: ShotSpan, board: Storyboard, motion: Motion) -> Camera:
    shot = board.shots[span.index]
    names = shot.subjects or [s.name for s in board.subjects]
    start, end = int(span.start_s * motion.fps), max(0, int(span.end_s * motion.fps) - 1)
    xs = [motion.tracks[n].x[start : end + 1].mean() for n in names if n in motion.tracks]
    focus = float(sum(xs) / len(xs)) if xs else 0.0
    view, look = VIEW_HEIGHT[span.framing], LOOK_HEIGHT[span.framing]
    move = span.camera_move
    if move == "push_in":
        return Camera(span, (focus, focus), (look, look), (view * 1.35, view))
    if move == "pull_out":
        return Camera(span, (focus, focus), (look, look), (view, view * 1.35))
    if move == "pan":
        return Camera(span, (focus - view * 0.3, focus + view * 0.3), (look, look), (view, view))
    return Camera(span, (focus, focus), (look, look), (view, view))


def _camera_whooshes(cameras: list[Camera]) -> list[SoundEvent]:
    return [
        SoundEvent("whoosh", (c.shot.start_s + c.shot.end_s) / 2, strength=0.5)
        for c in cameras
        if c.shot.camera_move != "static"
    ]

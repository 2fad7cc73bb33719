from __future__ import annotations

import math

import numpy as np
import pytest

from generation.pipeline.motion import GRAVITY
from generation.pipeline.plan import PlanRequest, RuleBasedPlanner
from generation.pipeline.render import ProceduralRenderer, prop_pose
from generation.pipeline.scene import build_scene
from generation.pipeline.storyboard import Action, Shot, Storyboard, Subject

SMALL = (144, 256)
PROP_BLUE = np.array([38, 102, 242])  # the vase, after rendering (0.15, 0.4, 0.95)


def jump_board(fps: int = 24) -> Storyboard:
    return Storyboard(
        shots=[
            Shot(
                framing="wide",
                duration_s=2.0,
                subjects=["kid"],
                actions=[Action("kid", "jump", at_s=0.5)],
            )
        ],
        subjects=[Subject("kid")],
        fps=fps,
    )


def test_a_jump_is_a_ballistic_arc_that_takes_off_and_lands_on_frames() -> None:
    scene = build_scene(jump_board())
    track, fps = scene.motion.tracks["kid"], scene.fps
    events = {e.kind: e.time_s for e in scene.timeline.events}
    takeoff, landing = round(events["takeoff"] * fps), round(events["landing"] * fps)
    assert events["takeoff"] * fps == pytest.approx(takeoff)
    assert events["landing"] * fps == pytest.approx(landing)
    air = landing - takeoff
    v0 = GRAVITY * air / fps / 2
    for k in range(air + 1):
        tau = k / fps
        assert track.y[takeoff + k] == pytest.approx(max(0.0, v0 * tau - GRAVITY * tau**2 / 2))
    assert track.y[landing] == pytest.approx(0.0, abs=1e-9)
    assert 0.35 < track.y.max() < 0.6  # a human-sized hop, not a float
    assert (track.y >= 0).all()  # never through the floor
    assert track.airborne[takeoff + 1 : landing].all() and not track.airborne[landing]


def test_walking_keeps_feet_on_the_floor_and_steps_are_sound_events() -> None:
    board = Storyboard(
        shots=[
            Shot(
                framing="wide",
                duration_s=3.0,
                subjects=["kid"],
                actions=[Action("kid", "walk", at_s=0.2)],
            )
        ],
        subjects=[Subject("kid")],
    )
    scene = build_scene(board)
    track = scene.motion.tracks["kid"]
    assert track.x[-1] - track.x[0] == pytest.approx(1.8, abs=0.05)
    assert (track.y == 0).all()
    steps = [e.time_s for e in scene.timeline.events if e.kind == "footstep"]
    assert len(steps) == 3 and np.allclose(np.diff(steps), 0.5)


def test_shot_boundaries_fall_on_frames_and_camera_moves_whoosh() -> None:
    board = RuleBasedPlanner().plan(
        PlanRequest(
            prompt="Wide shot of a park. Medium shot, the camera pushes in. Close-up.", duration_s=7
        )
    )
    scene = build_scene(board)
    for span in scene.timeline.shots:
        assert span.start_s * scene.fps == pytest.approx(round(span.start_s * scene.fps))
    whooshes = [e.time_s for e in scene.timeline.events if e.kind == "whoosh"]
    medium = scene.timeline.shots[1]
    assert whooshes == [pytest.approx((medium.start_s + medium.end_s) / 2)]


def _vase_box(frame: np.ndarray) -> tuple[int, int] | None:
    mask = np.abs(frame.astype(int) - PROP_BLUE).sum(axis=2) < 60
    if mask.sum() < 4:
        return None
    ys, xs = np.nonzero(mask)
    return xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


def test_a_prop_knocked_over_in_shot_one_is_still_down_in_shot_three() -> None:
    board = RuleBasedPlanner().plan(
        PlanRequest(
            prompt="Wide shot: the chef knocks over the vase in the kitchen. "
            'Close-up: the chef says "oops". Wide shot: the chef waves.',
            duration_s=9,
        )
    )
    scene = build_scene(board, size=SMALL)
    vase = scene.props[0]
    first, third = scene.timeline.shots[0], scene.timeline.shots[2]
    assert vase.fallen_at_s is not None and vase.fallen_at_s < first.end_s
    assert prop_pose(vase, first.start_s) == 0.0
    assert prop_pose(vase, third.start_s) == pytest.approx(math.pi / 2)
    # and the rendered frames agree: upright (tall) at the start, lying (wide) in shot three
    frames = list(ProceduralRenderer().render(scene))
    start_w, start_h = _vase_box(frames[1])
    late_w, late_h = _vase_box(frames[int(third.start_s * scene.fps) + 2])
    assert start_h > start_w and late_w > late_h


def test_the_rendered_landing_frame_is_the_motion_landing_frame() -> None:
    scene = build_scene(jump_board(), size=SMALL)
    frames = list(ProceduralRenderer(blur_samples=1).render(scene))
    trousers = np.array([51, 56, 77])  # (0.2, 0.22, 0.3)
    lowest = []
    for frame in frames:
        rows = np.nonzero((np.abs(frame.astype(int) - trousers).sum(axis=2) < 40).any(axis=1))[0]
        lowest.append(rows.max())
    ground = lowest[0]
    airborne = [i for i, row in enumerate(lowest) if row < ground - 1]
    rendered_landing = airborne[-1] + 1
    landing = next(e.time_s for e in scene.timeline.events if e.kind == "landing")
    assert abs(rendered_landing - landing * scene.fps) <= 1


def test_frames_come_out_in_order_with_the_right_size_and_count() -> None:
    scene = build_scene(jump_board(), size=SMALL)
    done: list[tuple[int, int]] = []
    frames = list(ProceduralRenderer().render(scene, on_batch=lambda d, t: done.append((d, t))))
    assert len(frames) == scene.frame_count == 48
    assert frames[0].shape == (256, 144, 3) and frames[0].dtype == np.uint8
    assert done[-1] == (48, 48) and [d for d, _ in done] == sorted(d for d, _ in done)


def test_a_shot_grows_to_fit_its_line_within_the_length_limit() -> None:
    from generation.pipeline.scene import fit_dialogue, spoken_seconds
    from generation.pipeline.storyboard import Line

    line = "I did not expect to fly that high today, not in a million years!"
    board = Storyboard(
        shots=[
            Shot(duration_s=5.0, subjects=["kid"]),
            Shot(duration_s=2.0, subjects=["kid"], dialogue=[Line("kid", line, 0.3)]),
        ],
        subjects=[Subject("kid")],
    )
    assert fit_dialogue(board) == [1]
    assert board.shots[1].duration_s >= 0.3 + spoken_seconds(line)
    board.shots[0].duration_s = 19.0  # no room left under the 20 s limit
    board.shots[1].duration_s = 1.0
    fit_dialogue(board)
    assert board.duration_s == pytest.approx(20.0)


def test_a_shot_with_two_lines_grows_to_fit_both_spoken_one_after_the_other() -> None:
    from generation.pipeline.scene import fit_dialogue, spoken_seconds
    from generation.pipeline.storyboard import Line
    from generation.pipeline.timeline import LINE_GAP_S

    first, second = "That was not part of the recipe.", "Where did my kitchen go?"
    board = Storyboard(
        shots=[
            Shot(
                duration_s=2.0,
                subjects=["chef"],
                dialogue=[Line("chef", first, 0.3), Line("chef", second, 0.3)],
            )
        ],
        subjects=[Subject("chef")],
    )
    assert fit_dialogue(board) == [0]
    # The audio stage says the second line after the first, not over it.
    spoken = 0.3 + spoken_seconds(first) + LINE_GAP_S + spoken_seconds(second)
    assert board.shots[0].duration_s >= spoken

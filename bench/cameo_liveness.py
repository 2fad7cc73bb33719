"""Liveness and presentation-attack figures of cameo verification, in ISO/IEC 30107-3 terms.

Builds capture clips from the face photos the tests use (tests/cameo_media.py): genuine head
turns both ways at several sizes and distances, and the same scenes presented as a turned print
or a phone screen, then verifies each against a challenge asking for the turn it shows.

    BPCER: genuine captures rejected by the liveness stages (pose), of all genuine captures.
    APCER: attacks verified as a double, of all attacks; and how many carried the
           `presentation_attack` code.

    .venv/bin/python bench/cameo_liveness.py [--tiny] [--workers 2]
"""

from __future__ import annotations

import argparse
import collections
import itertools
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parse_args  # noqa: E402

PHOTOS = ("astronaut", "tom_hanks", "t1_face")
ATTACKS = (None, "print", "screen")


def verify_one(case: tuple[str, str, float, float, str | None]) -> tuple[str, str | None, str]:
    from cameo.biometrics import Challenge, Turn, VerificationRejected, verify_capture
    from tests import cameo_media as cm

    photo, turn, degrees, width, attack = case
    spec = cm.Capture(
        shots=(cm.Shot(photo=photo, face_width=width),), turn=turn, turn_deg=degrees, attack=attack
    )
    with tempfile.TemporaryDirectory() as tmp:
        clip = cm.build_capture(Path(tmp) / "clip.mp4", spec)
        challenge = Challenge("4827", 0.5, 2.5, turns=(Turn(turn, *spec.turn_window),))
        try:
            verify_capture(clip, challenge=challenge)
            code = "verified"
        except VerificationRejected as exc:
            code = exc.code
    return photo, attack, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--degrees", type=float, nargs="+", default=[20.0, 30.0, 40.0])
    parser.add_argument("--widths", type=float, nargs="+", default=[0.3, 0.42])
    parser.add_argument("--photos", nargs="+", default=list(PHOTOS))
    parser.add_argument("--workers", type=int, default=2)
    args = parse_args(
        parser, {"degrees": [30.0], "widths": [0.36], "photos": ["astronaut"], "workers": 1}
    )
    cases = list(
        itertools.product(args.photos, ("left", "right"), args.degrees, args.widths, ATTACKS)
    )
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(verify_one, cases))
    elapsed = time.perf_counter() - started
    codes: dict[str | None, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for _, attack, code in results:
        codes[attack][code] += 1
    genuine = codes[None]
    attacks = codes["print"] + codes["screen"]
    n_genuine, n_attacks = sum(genuine.values()), sum(attacks.values())
    liveness_rejects = genuine["no_head_turn"] + genuine["presentation_attack"]
    print(f"{len(cases)} clips, {elapsed:.1f} s ({elapsed / len(cases):.2f} s a clip)")
    for attack in ATTACKS:
        print(f"  {attack or 'genuine':8s}", dict(codes[attack]))
    print(f"bpcer_percent {100 * liveness_rejects / n_genuine:.1f}")
    print(f"genuine_verified_percent {100 * genuine['verified'] / n_genuine:.1f}")
    print(f"apcer_percent {100 * attacks['verified'] / n_attacks:.1f}")
    print(f"attack_code_percent {100 * attacks['presentation_attack'] / n_attacks:.1f}")


if __name__ == "__main__":
    main()

"""What every benchmark shares: the `--tiny` switch, and cleaning up the processes it starts.

`--tiny` runs the same code path end to end at a size that takes seconds, so CI can run every
benchmark (tests/test_benchmarks.py) and none rots unnoticed. It only changes defaults: a size
given explicitly on the command line still wins, and a run without `--tiny` measures what it
always did.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_PR_SET_PDEATHSIG = 1


def parse_args(
    parser: argparse.ArgumentParser, tiny: dict[str, Any], note: str = ""
) -> argparse.Namespace:
    """Parse the command line; with `--tiny`, the `tiny` values are the defaults."""
    sizes = ", ".join(f"--{name.replace('_', '-')} {value}" for name, value in tiny.items())
    what = ", ".join(part for part in (sizes, note) if part)
    parser.add_argument("--tiny", action="store_true", help=f"a seconds-long run for CI: {what}")
    if parser.parse_known_args()[0].tiny:
        parser.set_defaults(**tiny)
    return parser.parse_args()


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `finally:` blocks stop the servers a benchmark started."""

    def stop(signum: int, frame: object) -> None:
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def die_with_parent() -> None:
    """A Popen preexec_fn: the kernel kills the child when the benchmark dies, even by SIGKILL,
    so no server outlives the run that started it (Linux only). SIGKILL, not SIGTERM: a
    benchmark's server has nothing to save, and daphne can hang on SIGTERM."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def setup_django(env: dict[str, str]) -> None:
    """Django in the benchmark's own process, on the database its servers will use, for the
    seeding (migrations, `_meta`, a token). Not pooled: this process only sets up."""
    import django

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.update(env, DATABASE_POOL="false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) of a run's samples; the p99 is the nearest sample, not an interpolation."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return statistics.median(ordered), p99

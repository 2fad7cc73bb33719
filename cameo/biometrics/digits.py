"""Were the digits read aloud in a capture the ones the app showed? Offline, with PocketSphinx's
US English acoustic model (the one its PyPI wheel ships; nothing is downloaded).

A recognizer that writes down what it heard and compares strings is fragile: PocketSphinx's
small model misrecognises one digit in six or seven of synthetic or accented speech, and one
miss anywhere fails the whole string. The check asks a narrower question, once per position:
given that the other digits are the expected ones, does the expected digit explain this stretch
of audio better than every other digit does? For position i it aligns two grammars to the
speech, both with the other positions fixed to the expected digits:

    forced:  e1 ... e(i-1)  e(i)             e(i+1) ... eN
    rival:   e1 ... e(i-1)  {0-9} - {e(i)}   e(i+1) ... eN

and takes the difference of their acoustic log-likelihoods (nats, Viterbi paths; the per-digit
score). Genuine digits score well above zero. A replay of another challenge's digits speaks
other digits at most positions: there the rival grammar wins, the score is negative, and one
such position refuses the clip, so a recording that differs from the challenge in a single
digit is refused too. If even the forced grammar cannot be aligned (the speech is not N digits
at all), the clip is refused outright.

Audio is mono float32 at 16 kHz in [-1, 1]. The decoder is built once per process and is not
thread-safe: every use holds a lock.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RATE = 16_000
MODEL = "pocketsphinx:en-us"

# Pronunciations from CMUdict (the wheel's cmudict-en-us.dict), "oh" for zero as many say it.
PRONUNCIATIONS: dict[str, tuple[str, ...]] = {
    "0": ("Z IH R OW", "Z IY R OW", "OW"),
    "1": ("W AH N",),
    "2": ("T UW",),
    "3": ("TH R IY",),
    "4": ("F AO R",),
    "5": ("F AY V",),
    "6": ("S IH K S",),
    "7": ("S EH V AH N",),
    "8": ("EY T",),
    "9": ("N AY N",),
}
DIGITS = tuple(PRONUNCIATIONS)

# The speech that is aligned: silero-vad's segments inside the window, widened by PAD_S each
# side (VAD trims soft onsets such as the "f" of "five" and the "s" of "six").
PAD_S = 0.3
MIN_SPEECH_S = 0.3  # less speech than this in the window cannot hold one digit
SCORE_CAP = 400.0  # per-digit scores are clipped to +-this (nats), so no digit can outweigh
# the others in the mean; a rival grammar that cannot be aligned at all scores +SCORE_CAP.

# Decision thresholds, in nats of acoustic log-likelihood (see the module's docstring). Tuned on
# the TUNING voices of bench/digits.py only (espeak-ng: 4 accents x 12 variants, pitches 30-80,
# speeds 120-190 wpm, quiet room, white and babble noise at 20 and 10 dB SNR, 300-3400 Hz phone
# band, AAC and Opus), never on its held-out voices: genuine digits score 40-300, a different
# digit -50 to -300. MIN_DIGIT_SCORE is what every single position must reach; MIN_MEAN_SCORE
# is what the positions must reach on average.
MIN_DIGIT_SCORE = 0.0
MIN_MEAN_SCORE = 40.0

_lock = threading.Lock()


@dataclass(frozen=True)
class DigitsResult:
    passed: bool
    score: float  # the lowest per-digit score (nats); -inf when nothing could be aligned
    decoded: str  # what a free digit loop heard, for the record; the decision does not use it
    digit_scores: tuple[float, ...]  # per expected digit, in order; empty when not aligned
    model: str
    reason: str  # "ok", "no_speech", "not_aligned" (not the expected number of digits) or
    # "wrong_digits" (some digit scored under MIN_DIGIT_SCORE, or their mean under the mean's)


@dataclass(frozen=True)
class _Path:
    score: float  # acoustic log-likelihood of the whole path, nats
    words: tuple[tuple[str, int, int], ...]  # (digit, first frame, last frame) of each digit


@functools.cache
def _decoder() -> Any:
    import pocketsphinx

    config = pocketsphinx.Config(lm=None, dict=None, loglevel="FATAL")
    decoder = pocketsphinx.Decoder(config)
    for digit, prons in PRONUNCIATIONS.items():
        for k, phones in enumerate(prons):
            decoder.add_word(_word(digit, k), phones, True)
    return decoder


def _word(digit: str, k: int) -> str:
    return f"d{digit}" if k == 0 else f"d{digit}_{k}"


def _digit_of(word: str) -> str | None:
    return word[1] if word.startswith("d") and len(word) > 1 and word[1].isdigit() else None


def check_digits(
    audio: np.ndarray,
    expected: str,
    window: tuple[float, float],
    segments: Sequence[tuple[float, float]],
) -> DigitsResult:
    """Were `expected`'s digits read aloud, in order, in `window` (start_s, end_s, slack
    included)? `segments` are silero-vad's speech segments of the whole clip, in seconds."""
    if not expected or not expected.isdigit() or not expected.isascii():
        raise ValueError(f"expected must be a string of digits, not {expected!r}")
    region = speech_region(segments, window, len(audio) / RATE)
    if region is None:
        return DigitsResult(False, -math.inf, "", (), MODEL, "no_speech")
    start, end = region
    raw = _pcm(np.asarray(audio, dtype=np.float32)[int(start * RATE) : int(end * RATE)])
    with _lock:
        decoder = _decoder()
        free = _align(decoder, raw, None)
        decoded = "".join(d for d, _, _ in free.words) if free else ""
        forced = _align(decoder, raw, [(c,) for c in expected])
        if forced is None:
            return DigitsResult(False, -math.inf, decoded, (), MODEL, "not_aligned")
        scores = []
        for i, digit in enumerate(expected):
            slots: list[tuple[str, ...]] = [(c,) for c in expected]
            slots[i] = tuple(d for d in DIGITS if d != digit)
            rival = _align(decoder, raw, slots)
            score = SCORE_CAP if rival is None else forced.score - rival.score
            scores.append(float(np.clip(score, -SCORE_CAP, SCORE_CAP)))
    low, mean = min(scores), float(np.mean(scores))
    passed = low >= MIN_DIGIT_SCORE and mean >= MIN_MEAN_SCORE
    return DigitsResult(
        passed, low, decoded, tuple(scores), MODEL, "ok" if passed else "wrong_digits"
    )


def speech_region(
    segments: Sequence[tuple[float, float]], window: tuple[float, float], duration_s: float
) -> tuple[float, float] | None:
    """(start_s, end_s) from the first to the last speech inside the window, padded."""
    inside = [(max(a, window[0]), min(b, window[1])) for a, b in segments]
    inside = [(a, b) for a, b in inside if b > a]
    if sum(b - a for a, b in inside) < MIN_SPEECH_S:
        return None
    start = max(0.0, window[0] - PAD_S, inside[0][0] - PAD_S)
    end = min(duration_s, window[1] + PAD_S, inside[-1][1] + PAD_S)
    return (start, end) if end > start else None


def _pcm(samples: np.ndarray) -> bytes:
    """16-bit PCM, peak-normalised (the model normalises cepstra per utterance anyway)."""
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    scaled = samples * (0.5 / peak) if peak > 1e-4 else samples
    return (np.clip(scaled, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _align(decoder: Any, raw: bytes, slots: list[tuple[str, ...]] | None) -> _Path | None:
    """The best path through the slots (each a set of digits, in order), or through a free loop
    of digits when slots is None; None when no path reaches the grammar's end."""
    transitions: list[tuple[int, int, float] | tuple[int, int, float, str]] = []
    if slots is None:  # 0 -digit-> 1 -digit-> 1 ... 1 -> 2 (final)
        for digit in DIGITS:
            for k in range(len(PRONUNCIATIONS[digit])):
                transitions.append((0, 1, 0.1, _word(digit, k)))
                transitions.append((1, 1, 0.08, _word(digit, k)))
        transitions.append((1, 2, 0.2))
        final = 2
    else:
        for i, slot in enumerate(slots):
            for digit in slot:
                for k in range(len(PRONUNCIATIONS[digit])):
                    transitions.append((i, i + 1, 1.0 / len(slot), _word(digit, k)))
        final = len(slots)
    fsg = decoder.create_fsg("digits", 0, final, transitions)
    decoder.add_fsg("digits", fsg)
    decoder.activate_search("digits")
    decoder.start_utt()
    decoder.process_raw(raw, full_utt=True)
    decoder.end_utt()
    if decoder.hyp() is None:
        return None
    total, words = 0.0, []
    for seg in decoder.seg():
        total += math.log(max(seg.ascore, 1e-300))
        heard = _digit_of(seg.word)
        if heard is not None:
            words.append((heard, seg.start_frame, seg.end_frame))
    return _Path(total, tuple(words))

"""Soundtrack stage: voiced dialogue, sound effects, ambience and music, mixed into one WAV.

Needs a Timeline; returns a Soundtrack whose `spoken` spans the subtitles must follow. Speech
comes from espeak-ng; everything else is synthesised here with numpy, seeded by the timeline so
the same timeline always sounds the same.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from generation.pipeline import dsp
from generation.pipeline.timeline import (
    LINE_GAP_S,
    SoundEvent,
    SpokenLine,
    Timeline,
    VoiceSpec,
)
from generation.pipeline.tools import ToolUnavailable

T = TypeVar("T")
ESPEAK = "espeak-ng"
DUCK_DB = -12.0  # music level under speech
HEADROOM_DB = -1.0  # the mix peaks no higher than this
SECTION_FADE_S = 0.03  # each music section fades out just before the cut


class SoundtrackError(RuntimeError):
    """The soundtrack cannot be made; `code` says why, for the job's error code."""

    code = "dialogue_unspeakable"
    retryable = False  # the job runner fails the job with `code` instead of retrying it

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code or self.code


class TtsUnavailable(SoundtrackError, ToolUnavailable):
    """No speech engine on this machine: the operator's problem, not the user's lines."""

    code = "tts_unavailable"


@dataclass(frozen=True)
class PitchMatch:
    """What a speaker was asked to sound like and what the voice measured at."""

    target_hz: float | None
    measured_hz: float | None
    variant: str
    espeak_pitch: int


@dataclass(frozen=True)
class VoicedLine:
    samples: np.ndarray  # mono float32, leading and trailing silence trimmed
    rate: int
    pitch: PitchMatch


@dataclass
class Soundtrack:
    wav: Path  # stereo 16-bit PCM, exactly timeline.duration_s long
    spoken: list[SpokenLine]
    effects: list[tuple[str, float]]  # (kind, onset s); a whoosh's onset is its peak
    music_cuts: list[float]  # music section starts after 0: the shot boundaries
    backends: dict[str, str]
    timings: dict[str, float]
    pitch: dict[str, PitchMatch] = field(default_factory=dict)  # per speaker, last line


def build_soundtrack(timeline: Timeline, out_wav: Path, *, sample_rate: int = 48000) -> Soundtrack:
    """Voice, place, synthesise and mix the timeline's sound into out_wav."""
    # 1. Check the timeline before spending time on it.
    _check(timeline)
    n = round(timeline.duration_s * sample_rate)
    timings: dict[str, float] = {}
    timed = functools.partial(_timed, timings)
    # 2. Dialogue first: its spans drive both the ducking and the subtitles.
    speech, spoken, pitch = timed("dialogue", lambda: voice_dialogue(timeline, n, sample_rate))
    # 3. Effects at their events, ambience for the setting, music cut at the shots.
    seed = zlib.crc32(repr((timeline.setting, timeline.mood, timeline.events)).encode())
    effects, placed = timed("effects", lambda: place_effects(timeline.events, n, sample_rate, seed))
    room = timed("ambience", lambda: ambience(timeline.setting, n, sample_rate, seed))
    music, cuts = timed("music", lambda: score(timeline, n, sample_rate))
    # 4. Duck the music under speech, mix with headroom, write.
    mix = timed("mix", lambda: _mix(speech, effects, room, duck(music, speech, sample_rate)))
    timed("write", lambda: dsp.write_wav(out_wav, mix, sample_rate))
    backends = {"dialogue": espeak_version() if spoken else "none"}
    backends |= {"effects": "procedural", "ambience": "procedural", "music": "procedural"}
    return Soundtrack(out_wav, spoken, placed, cuts, backends, timings, pitch)


def _check(timeline: Timeline) -> None:
    if timeline.duration_s <= 0 or not timeline.shots:
        raise ValueError("a soundtrack needs a positive duration and at least one shot")
    starts = [shot.start_s for shot in timeline.shots]
    if starts != sorted(starts) or starts[0] < 0 or starts[-1] >= timeline.duration_s:
        raise ValueError(f"shot starts {starts} are not ordered within the timeline")
    for event in timeline.events:
        if not 0 <= event.time_s < timeline.duration_s:
            raise ValueError(f"{event.kind} at {event.time_s} s is outside the timeline")


def _timed(timings: dict[str, float], name: str, step: Callable[[], T]) -> T:
    began = time.perf_counter()
    result = step()
    timings[name] = round(time.perf_counter() - began, 4)
    return result


def _mix(
    speech: np.ndarray, effects: np.ndarray, room: np.ndarray, music: np.ndarray
) -> np.ndarray:
    centre = (speech + effects + music)[:, None]
    mix = centre + room
    peak = float(np.abs(mix).max()) if mix.size else 0.0
    ceiling = dsp.db(HEADROOM_DB)
    return (mix * (ceiling / peak) if peak > ceiling else mix).astype(np.float32)


# --- Dialogue -----------------------------------------------------------------------------------
@functools.cache
def espeak_version() -> str:
    """'espeak-ng 1.51', from its own banner."""
    out = subprocess.run([_espeak_exe(), "--version"], capture_output=True, text=True, timeout=10)
    words = out.stdout.split(":", 1)[-1].split()
    return f"{ESPEAK} {words[0] if words else 'unknown'}"


def _espeak_exe() -> str:
    exe = shutil.which(ESPEAK)
    if exe is None:
        raise TtsUnavailable(
            "Speech synthesis is unavailable on this server: espeak-ng is not installed "
            "(apt-get install -y espeak-ng). Retry the job once it is."
        )
    return exe


def _espeak(text: str, variant: str, pitch: int, wpm: int) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "line.wav"
        argv = [_espeak_exe(), "-v", f"en+{variant}", "-p", str(pitch), "-s", str(wpm)]
        # Text on stdin, so a line starting with "-" is never read as an option.
        out = subprocess.run(
            [*argv, "-w", str(wav), "--stdin"], input=text, capture_output=True, text=True
        )
        if out.returncode != 0 or not wav.exists():
            raise SoundtrackError(
                f"espeak-ng failed on {text!r}: {out.stderr[-300:]}", "tts_failed"
            )
        return dsp.read_wav(wav)


PITCH_TOLERANCE = 0.03  # a line closer than this to its target is left alone
PITCH_RETRIES = 3
CALIBRATION_TEXT = "The quick brown fox jumps over the lazy dog near the river bank."
CALIBRATION_STEPS = (0, 20, 40, 60, 80, 99)
# Tried in order when a target is beyond the asked-for variant's reach, above or below it.
HIGHER_VARIANTS, LOWER_VARIANTS = ("f3", "f2", "f1"), ("m1", "m3", "m2")


@functools.cache
def pitch_curve(variant: str, wpm: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Measured median F0 of a variant at each espeak -p step: espeak's scale is not Hz."""
    measured = []
    for step in CALIBRATION_STEPS:
        samples, rate = _espeak(CALIBRATION_TEXT, variant, step, wpm)
        measured.append(dsp.median_f0(samples, rate) or np.nan)
    hz = np.maximum.accumulate(np.nan_to_num(measured, nan=0.0))  # keep it invertible
    return CALIBRATION_STEPS, tuple(float(v) for v in hz)


def choose_pitch(voice: VoiceSpec) -> tuple[str, int]:
    """The variant and -p that should land on voice.pitch_hz; the voice's own variant if able."""
    if voice.pitch_hz is None:
        return voice.variant, 50
    target = voice.pitch_hz
    _, reach = pitch_curve(voice.variant, voice.rate_wpm)
    fallbacks = HIGHER_VARIANTS if target > reach[-1] else LOWER_VARIANTS
    candidates = [voice.variant, *(v for v in fallbacks if v != voice.variant)]

    def miss(variant: str) -> float:  # how far outside the variant's reach the target is
        _, hz = pitch_curve(variant, voice.rate_wpm)
        return max(hz[0] / target, target / hz[-1], 1.0)

    for variant in candidates:
        if miss(variant) <= 1.03:
            return variant, _step_for(variant, voice.rate_wpm, target)
    best = min(candidates, key=miss)
    return best, _step_for(best, voice.rate_wpm, target)


def _step_for(variant: str, wpm: int, target_hz: float) -> int:
    steps, hz = pitch_curve(variant, wpm)
    return int(round(float(np.interp(target_hz, hz, steps))))


def voice_line(text: str, voice: VoiceSpec, rate: int) -> VoicedLine:
    """One line through espeak-ng at the voice's pitch, measured, trimmed and levelled."""
    variant, step = choose_pitch(voice)
    samples, native, measured, step = _near_pitch(text, voice, variant, step)
    start, end = dsp.voiced_span(samples, native)
    if end <= start:
        raise SoundtrackError(f"espeak-ng produced silence for {text!r}")
    trimmed = dsp.resample(samples[start:end], native, rate)
    level = 0.1 / max(dsp.rms(trimmed), 1e-6)  # about -20 dBFS RMS
    trimmed = trimmed * min(level, 0.7 / max(float(np.abs(trimmed).max()), 1e-6))
    pitch = PitchMatch(voice.pitch_hz, measured, variant, step)
    return VoicedLine(trimmed.astype(np.float32), rate, pitch)


def _near_pitch(
    text: str, voice: VoiceSpec, variant: str, step: int
) -> tuple[np.ndarray, int, float | None, int]:
    """Synthesise, measure, and re-aim while the measured F0 misses the target.

    Each line intones differently from the calibration sentence, so the first try can be
    off by several percent; aiming off by the miss closes most of it in a step or two.
    """
    samples, native = _espeak(text, variant, step, voice.rate_wpm)
    measured, target = dsp.median_f0(samples, native), voice.pitch_hz
    aim = target
    for _ in range(PITCH_RETRIES):
        if not (target and measured and aim) or abs(measured / target - 1) <= PITCH_TOLERANCE:
            break
        aim *= target / measured
        retry = _step_for(variant, voice.rate_wpm, aim)
        if retry == step:
            break  # at the end of espeak's range: nothing left to try
        again, _ = _espeak(text, variant, retry, voice.rate_wpm)
        remeasured = dsp.median_f0(again, native)
        if remeasured is None or abs(remeasured / target - 1) >= abs(measured / target - 1):
            break
        samples, measured, step = again, remeasured, retry
    return samples, native, measured, step


def voice_dialogue(
    timeline: Timeline, n: int, rate: int
) -> tuple[np.ndarray, list[SpokenLine], dict[str, PitchMatch]]:
    """Every line voiced and placed at its start; a line that would overlap waits its turn."""
    track = np.zeros(n, dtype=np.float32)
    spoken: list[SpokenLine] = []
    pitch: dict[str, PitchMatch] = {}
    free_from = 0
    for line in sorted(timeline.dialogue, key=lambda line: line.start_s):
        voiced = voice_line(line.text, timeline.voices.get(line.speaker, VoiceSpec()), rate)
        start = max(round(line.start_s * rate), free_from)
        end = start + len(voiced.samples)
        if end > n:
            raise SoundtrackError(
                f"{line.speaker}'s line {line.text!r} runs to {end / rate:.2f} s, "
                f"past the {timeline.duration_s} s timeline",
                "dialogue_too_long",
            )
        track[start:end] += voiced.samples
        spoken.append(SpokenLine(line.speaker, line.text, start / rate, end / rate))
        pitch[line.speaker] = voiced.pitch
        free_from = end + round(LINE_GAP_S * rate)
    return track, spoken, pitch


# --- Effects ------------------------------------------------------------------------------------
def effect(kind: str, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """An effect's samples and the index of its onset within them (a whoosh leads in)."""
    thump, tick = dsp.thump, functools.partial(dsp.noise_tick, rng)
    if kind == "landing":
        sound = 0.7 * thump(0.35, rate, 90, 40, 0.002, 0.09)
        sound[: int(0.03 * rate)] += 0.25 * tick(0.03, rate, 60, 400, 0.01)
        return sound, 0
    if kind == "footstep":
        sound = 0.25 * tick(0.08, rate, 700, 5000, 0.012)
        sound += 0.2 * thump(0.08, rate, 130, 80, 0.002, 0.02)
        return sound, 0
    if kind == "takeoff":
        return 0.45 * thump(0.25, rate, 60, 110, 0.004, 0.06), 0
    if kind == "impact":
        sound = 0.7 * thump(0.4, rate, 120, 45, 0.001, 0.12)
        sound[: int(0.06 * rate)] += 0.4 * tick(0.06, rate, 200, 8000, 0.02)
        return sound, 0
    if kind == "whoosh":
        m = int(0.4 * rate)
        swept = dsp.swept_band_noise(rng, m, rate, 300.0, 3000.0)
        return 0.35 * swept * np.hanning(m).astype(np.float32), m // 2
    raise ValueError(f"no sound for the event kind {kind!r}")


def place_effects(
    events: list[SoundEvent], n: int, rate: int, seed: int
) -> tuple[np.ndarray, list[tuple[str, float]]]:
    """Each event's sound with its onset on the event's own sample."""
    rng = np.random.default_rng([seed, 1])
    track = np.zeros(n, dtype=np.float32)
    placed: list[tuple[str, float]] = []
    for event in sorted(events, key=lambda event: event.time_s):
        sound, onset = effect(event.kind, rate, rng)
        at = round(event.time_s * rate)
        start = at - onset
        clip = sound[max(0, -start) : n - start] * float(np.clip(event.strength, 0.0, 1.0))
        track[max(0, start) : max(0, start) + len(clip)] += clip
        placed.append((event.kind, at / rate))
    return track, placed


# --- Ambience -----------------------------------------------------------------------------------
def ambience(setting: str, n: int, rate: int, seed: int) -> np.ndarray:
    """A low stereo bed for the setting; each channel its own noise so the bed feels wide."""
    make = AMBIENCES.get(setting, _room_tone)
    channels = [make(np.random.default_rng([seed, 2, side]), n, rate) for side in (0, 1)]
    return np.stack(channels, axis=1).astype(np.float32)


def _level(samples: np.ndarray, rms_db: float) -> np.ndarray:
    return samples * (dsp.db(rms_db) / max(dsp.rms(samples), 1e-9))


def _room_tone(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    return _level(dsp.band(dsp.brown_noise(rng, n), rate, 40, 600), -46)


def _street(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    rumble = dsp.band(dsp.brown_noise(rng, n), rate, 30, 1200)
    t = dsp.seconds(n, rate)
    hum = dsp.additive(n, rate, 55.0, (1.0, 0.6, 0.3)) * (0.7 + 0.3 * np.sin(2 * np.pi * 0.13 * t))
    return _level(rumble, -36) + _level(hum, -44)


def _outdoors(rng: np.random.Generator, n: int, rate: int, birds_per_s: float) -> np.ndarray:
    t = dsp.seconds(n, rate)
    air = dsp.band(rng.standard_normal(n).astype(np.float32), rate, 200, 5000)
    bed = _level(air * (0.8 + 0.2 * np.sin(2 * np.pi * 0.2 * t)), -44)
    for _ in range(rng.poisson(birds_per_s * n / rate)):
        chirp = _bird(rng, rate)
        at = int(rng.integers(0, max(1, n - len(chirp))))
        bed[at : at + len(chirp)] += chirp[: n - at]
    return bed


def _bird(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A few quick up-sweeps with a trill: a far-off songbird, not any real species."""
    notes = []
    for _ in range(int(rng.integers(2, 5))):
        m = int(rng.uniform(0.05, 0.12) * rate)
        low = rng.uniform(2500, 3500)
        tone = dsp.sweep(m, rate, low, low * rng.uniform(1.2, 1.6))
        trill = 0.6 + 0.4 * np.sin(2 * np.pi * 30 * dsp.seconds(m, rate))
        notes += [tone * trill * np.hanning(m), np.zeros(int(0.04 * rate))]
    return (dsp.db(-34) * np.concatenate(notes)).astype(np.float32)


def _beach(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    t = dsp.seconds(n, rate)
    period = rng.uniform(6.0, 9.0)
    swell = (0.15 + 0.85 * (0.5 + 0.5 * np.sin(2 * np.pi * t / period - np.pi / 2)) ** 3).astype(
        np.float32
    )
    surf = dsp.band(rng.standard_normal(n).astype(np.float32), rate, 150, 3000) * swell
    return _level(surf, -38) + _level(dsp.brown_noise(rng, n), -50)


def _kitchen(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    fridge = dsp.additive(n, rate, 60.0, (1.0, 0.5, 0.2), phase=rng.uniform(0, 6.28))
    return _room_tone(rng, n, rate) + _level(fridge, -50)


def _office(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    hvac = dsp.band(rng.standard_normal(n).astype(np.float32), rate, 150, 1500)
    return _room_tone(rng, n, rate) + _level(hvac, -48)


AMBIENCES: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "street": _street,
    "park": lambda rng, n, rate: _outdoors(rng, n, rate, birds_per_s=0.4),
    "forest": lambda rng, n, rate: _outdoors(rng, n, rate, birds_per_s=0.9),
    "beach": _beach,
    "kitchen": _kitchen,
    "office": _office,
    "studio": _room_tone,
}


# --- Music --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MusicStyle:
    bpm: float
    root_midi: int
    minor: bool
    partials: tuple[float, ...]  # harmonic amplitudes: the instrument's timbre
    decay_s: float  # how long a note rings
    progressions: tuple[tuple[int, ...], ...]  # scale degrees, one chord per bar


MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)
PATTERNS = ("block", "arpeggio", "pulse")  # a new section changes both pattern and progression
MUSIC_STYLES = {
    "upbeat": MusicStyle(
        120, 60, False, (1, 0.5, 0.35, 0.2, 0.1), 0.3, ((0, 4, 5, 3), (3, 4, 0, 5))
    ),
    "calm": MusicStyle(76, 65, False, (1, 0.15, 0.05), 0.9, ((0, 3, 5, 4), (5, 3, 0, 4))),
    "tense": MusicStyle(100, 62, True, (1, 0, 0.33, 0, 0.2), 0.25, ((0, 5, 6, 4), (0, 1, 0, 6))),
    "sad": MusicStyle(66, 57, True, (1, 0.3, 0.1, 0.05), 1.1, ((0, 5, 2, 6), (3, 0, 4, 0))),
    "epic": MusicStyle(
        90, 50, True, (1, 0.5, 0.33, 0.25, 0.2, 0.16), 0.7, ((0, 5, 2, 6), (5, 6, 0))
    ),
    "funny": MusicStyle(132, 67, False, (1, 0.6, 0.1, 0.3), 0.12, ((0, 3, 4, 0), (0, 5, 3, 4))),
}


def score(timeline: Timeline, n: int, rate: int) -> tuple[np.ndarray, list[float]]:
    """Music with a fresh section starting on each shot's first sample; returns the cut times."""
    style = MUSIC_STYLES.get(timeline.mood, MUSIC_STYLES["upbeat"])
    starts = [round(shot.start_s * rate) for shot in timeline.shots]
    bounds = [*starts, n]
    track = np.zeros(n, dtype=np.float32)
    for index, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        track[start:end] = _section(style, index, end - start, rate)
    return _level(track, -26).astype(np.float32), [start / rate for start in starts[1:]]


def _section(style: MusicStyle, index: int, m: int, rate: int) -> np.ndarray:
    """One section: its own progression and pattern, an accent in, a short fade out."""
    out = np.zeros(m, dtype=np.float32)
    beat = 60.0 / style.bpm
    progression = style.progressions[index % len(style.progressions)]
    pattern = PATTERNS[index % len(PATTERNS)]
    for b in range(int(np.ceil(m / rate / beat))):
        chord = _triad(style, progression[(b // 4) % len(progression)])
        for offset, midi, length, velocity in _notes(pattern, b, chord):
            _add(
                out,
                _note(style, midi, length * beat, rate, velocity),
                round((b + offset) * beat * rate),
            )
    if index > 0:  # an accent marks the new section: a low root and a splash
        _add(out, _note(style, _triad(style, progression[0])[0] - 12, 2 * beat, rate, 1.4), 0)
        splash = dsp.band(
            np.random.default_rng(index).standard_normal(int(0.3 * rate)), rate, 5000, None
        )
        _add(out, 0.15 * splash * dsp.decay_envelope(len(splash), rate, 0.001, 0.08), 0)
    fade = min(m, int(SECTION_FADE_S * rate))
    out[m - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


def _triad(style: MusicStyle, degree: int) -> list[int]:
    scale = MINOR if style.minor else MAJOR
    return [style.root_midi + 12 * ((degree + k) // 7) + scale[(degree + k) % 7] for k in (0, 2, 4)]


def _notes(pattern: str, beat: int, chord: list[int]) -> list[tuple[float, int, float, float]]:
    """(beat offset, midi note, length in beats, velocity) for one beat of a pattern."""
    bass = [(0.0, chord[0] - 24, 2.0, 0.8)] if beat % 4 == 0 else []
    if pattern == "block":
        hits = [(0.0, note, 2.0, 0.6) for note in chord] if beat % 2 == 0 else []
    elif pattern == "arpeggio":
        order = (chord[0], chord[1], chord[2], chord[0] + 12)
        hits = [(half / 2, order[(2 * beat + half) % 4], 0.5, 0.5) for half in (0, 1)]
    else:
        hits = [(0.0, note, 0.5, 0.45 + 0.15 * (beat % 2 == 0)) for note in chord]
    return bass + hits


def _note(style: MusicStyle, midi: int, length_s: float, rate: int, velocity: float) -> np.ndarray:
    m = int(length_s * rate)
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    tone = dsp.additive(m, rate, freq, style.partials)
    envelope = dsp.decay_envelope(m, rate, 0.012, style.decay_s)
    release = min(m, int(0.01 * rate))  # no click where the note is cut
    envelope[m - release :] *= np.linspace(1.0, 0.0, release, dtype=np.float32)
    return velocity * tone * envelope


def _add(track: np.ndarray, sound: np.ndarray, at: int) -> None:
    if at < len(track):
        part = sound[: len(track) - at]
        track[at : at + len(part)] += part


# --- Ducking ------------------------------------------------------------------------------------
def duck(music: np.ndarray, speech: np.ndarray, rate: int) -> np.ndarray:
    """Sidechain-style: the music dips by DUCK_DB while speech is loud, with attack and release."""
    hop = rate // 100
    level = dsp.frame_rms(speech, hop, hop)
    speaking = (level > dsp.db(-40)).astype(np.float64)
    # per 10 ms step: ~30 ms attack, ~250 ms release
    amount = dsp.follow(speaking, attack=0.3, release=0.04)
    gain = 1.0 - (1.0 - dsp.db(DUCK_DB)) * amount
    at = np.arange(len(gain)) * hop + hop / 2
    return (music * np.interp(np.arange(len(music)), at, gain)).astype(np.float32)

"""The soundtrack and subtitle stages, checked by listening to what they render."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from generation.pipeline import audio, dsp
from generation.pipeline.subtitles import cue_pieces, timestamp, webvtt
from generation.pipeline.timeline import (
    DialogueLine,
    ShotSpan,
    SoundEvent,
    SpokenLine,
    Timeline,
    VoiceSpec,
)

FPS = 24
LANDING_S = 0.9
CUE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$", re.M)


def three_shots(**changes: object) -> Timeline:
    shots = [
        ShotSpan(0, 0.0, 1.25, "close_up", "static"),
        ShotSpan(1, 1.25, 2.5, "medium", "static"),
        ShotSpan(2, 2.5, 4.0, "wide", "static"),
    ]
    timeline = Timeline(
        fps=FPS,
        duration_s=4.0,
        width=144,
        height=256,
        shots=shots,
        dialogue=[DialogueLine("Ada", "Nice landing, let us go again.", 1.6)],
        events=[SoundEvent("landing", LANDING_S, subject="Ada")],
        setting="park",
        mood="upbeat",
    )
    return replace(timeline, **changes)


@pytest.fixture(scope="module")
def soundtrack(tmp_path_factory: pytest.TempPathFactory) -> audio.Soundtrack:
    return audio.build_soundtrack(three_shots(), tmp_path_factory.mktemp("audio") / "mix.wav")


def seconds_of(match: tuple[str, ...]) -> float:
    hours, minutes, secs, millis = (int(part) for part in match)
    return hours * 3600 + minutes * 60 + secs + millis / 1000


def steepest_rise(samples: np.ndarray, rate: int, low: float | None, high: float | None) -> float:
    """Onset detection: where the band's 4 ms energy rises fastest, in seconds."""
    hop = rate // 1000
    energy = dsp.frame_rms(dsp.band(dsp.to_mono(samples), rate, low, high), 4 * hop, hop) ** 2
    return (int(np.argmax(np.diff(energy))) + 1) * hop / rate + 0.002


def first_loud_ms(samples: np.ndarray, rate: int, share: float = 0.1) -> float:
    """Seconds until the 1 ms RMS first reaches `share` of its loudest."""
    hop = rate // 1000
    levels = dsp.frame_rms(samples, hop, hop)
    return int(np.argmax(levels >= share * levels.max())) * hop / rate


# --- The three-shot timeline ------------------------------------------------------------------
def test_the_landing_is_heard_within_a_frame_of_its_event(soundtrack: audio.Soundtrack) -> None:
    samples, rate = dsp.read_wav(soundtrack.wav)
    heard = steepest_rise(samples, rate, None, 200.0)  # the thump is the loudest low onset
    assert abs(heard - LANDING_S) < 1 / FPS, f"landing heard at {heard:.3f} s"


def test_silero_hears_the_dialogue_where_the_soundtrack_says_it_was_spoken(
    soundtrack: audio.Soundtrack,
) -> None:
    import torch
    from silero_vad import get_speech_timestamps, load_silero_vad

    # given the full mix: music ducked under the line, ambience and the landing still in
    samples, rate = dsp.read_wav(soundtrack.wav)
    mono_16k = dsp.resample(dsp.to_mono(samples), rate, 16000)
    # when
    found = get_speech_timestamps(
        torch.from_numpy(mono_16k), load_silero_vad(), sampling_rate=16000, return_seconds=True
    )
    # then
    (line,) = soundtrack.spoken
    assert found, "no speech found in the mix"
    assert abs(found[0]["start"] - line.start_s) < 0.25
    assert abs(found[-1]["end"] - line.end_s) < 0.25


def test_the_spoken_span_is_the_speech_itself_not_the_planned_time(
    soundtrack: audio.Soundtrack,
) -> None:
    (line,) = soundtrack.spoken
    assert line.start_s == pytest.approx(1.6, abs=1e-4)
    assert 0.8 < line.end_s - line.start_s < 2.4  # a seven-word line, trimmed of silence


def test_webvtt_cues_are_timed_by_the_spoken_span(soundtrack: audio.Soundtrack) -> None:
    document = webvtt(soundtrack.spoken)
    (line,) = soundtrack.spoken
    (cue,) = CUE.findall(document)
    assert document.startswith("WEBVTT\n\n")
    assert seconds_of(cue[:4]) == round(line.start_s, 3)
    assert seconds_of(cue[4:]) == round(line.end_s, 3)
    assert "<v Ada>Nice landing, let us go again.</v>" in document


def test_music_cuts_are_the_shot_boundaries(soundtrack: audio.Soundtrack) -> None:
    assert soundtrack.music_cuts == [1.25, 2.5]


def test_the_music_dips_then_restarts_on_each_cut() -> None:
    rate = 16000
    music, cuts = audio.score(three_shots(), 4 * rate, rate)
    for cut in cuts:
        at = round(cut * rate)
        before = dsp.rms(music[at - rate // 200 : at])  # inside the section's closing fade
        after = dsp.rms(music[at : at + rate // 50])  # the new section's accent
        assert after > 4 * before, f"no change heard at {cut} s"


def test_the_mix_is_exactly_as_long_as_the_timeline_and_never_clips(
    soundtrack: audio.Soundtrack,
) -> None:
    samples, rate = dsp.read_wav(soundtrack.wav)
    assert samples.shape == (4 * 48000, 2) and rate == 48000
    assert 0.05 < float(np.abs(samples).max()) < 1.0
    assert soundtrack.effects == [("landing", LANDING_S)]
    assert soundtrack.backends["dialogue"].startswith("espeak-ng 1.")
    assert set(soundtrack.timings) >= {"dialogue", "effects", "ambience", "music", "mix"}


# --- Voices -------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [110.0, 220.0])
def test_a_voice_lands_within_fifteen_percent_of_its_target_pitch(target: float) -> None:
    voiced = audio.voice_line("Where did everybody go today?", VoiceSpec(pitch_hz=target), 16000)
    measured = dsp.median_f0(voiced.samples, voiced.rate)
    assert measured is not None
    assert abs(measured / target - 1) < 0.15, f"{measured:.1f} Hz for {target} Hz"
    assert voiced.pitch.measured_hz is not None
    assert abs(voiced.pitch.measured_hz / target - 1) < 0.15


def test_a_voiced_line_is_trimmed_to_the_speech_itself() -> None:
    voiced = audio.voice_line("Right on time.", VoiceSpec(), 16000)
    levels = dsp.frame_rms(voiced.samples, 160, 160)  # 10 ms windows
    loud = levels > 0.01 * levels.max()
    assert loud[0] and loud[-1], "silence left at an end of the line"
    assert 0.4 < len(voiced.samples) / voiced.rate < 1.6


def test_the_pitch_estimator_finds_a_known_fundamental() -> None:
    rate = 16000
    for f0 in (90.0, 140.0, 260.0):
        tone = 0.3 * dsp.additive(rate, rate, f0, (1.0, 0.8, 0.6, 0.4, 0.3))
        assert dsp.median_f0(tone, rate) == pytest.approx(f0, rel=0.01)
    silence = np.zeros(rate, dtype=np.float32)
    assert dsp.median_f0(silence, rate) is None


def test_an_overlapping_line_waits_for_the_one_before_to_end() -> None:
    lines = [DialogueLine("Ada", "First I say this.", 0.2), DialogueLine("Bo", "Me too.", 0.4)]
    timeline = three_shots(dialogue=lines, events=[])
    _, spoken, _ = audio.voice_dialogue(timeline, 4 * 16000, 16000)
    assert spoken[0].start_s == pytest.approx(0.2)
    assert spoken[1].start_s >= spoken[0].end_s


def test_a_line_that_would_run_past_the_end_is_refused() -> None:
    timeline = three_shots(dialogue=[DialogueLine("Ada", "A long goodbye to everyone.", 3.8)])
    with pytest.raises(audio.SoundtrackError, match="past the 4.0 s timeline"):
        audio.voice_dialogue(timeline, 4 * 16000, 16000)


def test_music_ducks_by_about_twelve_db_while_a_line_is_spoken() -> None:
    rate = 16000
    music = np.full(3 * rate, 0.1, dtype=np.float32)
    speech = np.zeros(3 * rate, dtype=np.float32)
    speech[rate : 2 * rate] = 0.1 * np.sin(np.arange(rate) * 2 * np.pi * 150 / rate)
    ducked = audio.duck(music, speech, rate)
    under = dsp.rms(ducked[int(1.3 * rate) : int(1.9 * rate)])
    clear = dsp.rms(ducked[: int(0.9 * rate)])
    assert 20 * np.log10(clear / under) == pytest.approx(12.0, abs=1.0)
    assert dsp.rms(ducked[int(2.8 * rate) :]) > 0.9 * clear  # released after the line


# --- Effects and ambience -----------------------------------------------------------------------
def test_every_effect_starts_on_its_event() -> None:
    rate = 48000
    kinds = ["landing", "footstep", "takeoff", "impact", "whoosh"]
    events = [SoundEvent(kind, 0.5 + 0.7 * i + 0.013 * i) for i, kind in enumerate(kinds)]
    track, placed = audio.place_effects(events, 4 * rate, rate, seed=7)
    assert [kind for kind, _ in placed] == kinds
    for event in events:
        window = track[round((event.time_s - 0.3) * rate) : round((event.time_s + 0.3) * rate)]
        if event.kind == "whoosh":  # swept around its event: the loudest moment is the event
            heard = event.time_s - 0.3 + _loudest_s(window, rate)
        else:
            heard = event.time_s - 0.3 + first_loud_ms(window, rate)
        assert abs(heard - event.time_s) < 1 / FPS, f"{event.kind} heard at {heard:.3f} s"


def _loudest_s(samples: np.ndarray, rate: int) -> float:
    hop = rate // 100
    return (int(np.argmax(dsp.frame_rms(samples, 4 * hop, hop))) * hop + 2 * hop) / rate


def test_a_landing_attacks_in_under_five_milliseconds() -> None:
    rate = 48000
    sound, onset = audio.effect("landing", rate, np.random.default_rng(0))
    envelope = np.abs(sound)
    assert onset == 0
    assert int(np.argmax(envelope >= 0.5 * envelope.max())) < 0.005 * rate


@pytest.mark.parametrize("setting", sorted(audio.AMBIENCES))
def test_each_setting_has_a_quiet_but_present_bed(setting: str) -> None:
    bed = audio.ambience(setting, 16000 * 3, 16000, seed=3)
    level_db = 20 * np.log10(dsp.rms(bed))
    assert -55 < level_db < -28, f"{setting} at {level_db:.1f} dBFS"


def test_birds_sing_in_the_park_but_not_in_the_studio() -> None:
    rate = 16000

    def chirp_band(setting: str) -> float:
        return dsp.rms(dsp.band(audio.ambience(setting, rate * 6, rate, seed=5), rate, 2400, 5500))

    assert chirp_band("forest") > 3 * chirp_band("studio")


# --- Subtitles ----------------------------------------------------------------------------------
def test_a_long_line_is_wrapped_into_cues_of_at_most_two_rows_spanning_the_speech() -> None:
    text = "This is quite a long line of dialogue that goes on " * 3
    line = SpokenLine("Bo", text.strip(), 1.0, 7.0)
    pieces = cue_pieces(line)
    assert len(pieces) >= 2
    assert all(len(rows) <= 2 and all(len(row) <= 42 for row in rows) for *_, rows in pieces)
    assert pieces[0][0] == 1.0 and pieces[-1][1] == 7.0
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))


def test_webvtt_escapes_markup_and_writes_millisecond_timestamps() -> None:
    document = webvtt([SpokenLine("Ada <3", "Fish & <chips>", 3661.2345, 3662.0)])
    assert "01:01:01.234 --> 01:01:02.000" in document
    assert "<v Ada &lt;3>Fish &amp; &lt;chips&gt;</v>" in document
    assert timestamp(59.9996) == "00:01:00.000"

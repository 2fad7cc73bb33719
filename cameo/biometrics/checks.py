"""The stages of `verify_capture`: each checks one thing, raises a rejection or returns what the
next stages need, and adds what it measured to the metadata."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cameo.biometrics import contract as v
from cameo.biometrics import faces as faces_lib
from cameo.biometrics import measures, media
from cameo.biometrics import voice as voice_lib
from cameo.biometrics.faces import Face, FaceBackend, verification_backend


@dataclass(eq=False)  # compared by identity: they hold arrays
class FaceFrame:
    frame: media.SampledFrame
    face: Face
    yaw: float = 0.0  # degrees from the starting pose (pose.relative_yaw), the user's left positive
    # Degrees from the starting pose by the face's own yaw (pose.face_yaw): unlike `yaw`, it
    # does not compare the mesh with the first frame's, so another face does not read as turned.
    facing: float = math.nan
    sharpness: float = 0.0
    brightness: float = 0.0
    embedding: np.ndarray | None = field(default=None, repr=False)


Metadata = dict[str, Any]


# --- 1. container -----------------------------------------------------------------------------
def check_container(clip: Path, progress: v._Progress, metadata: Metadata) -> media.ClipInfo:
    with progress.stage("probe"):
        try:
            info = media.probe_clip(clip)
        except (media.UnreadableClip, FileNotFoundError) as exc:
            raise progress.reject(
                "unreadable", "The clip could not be read; record it again.", error=str(exc)
            )
    metadata.update(
        duration_s=info.duration_s,
        width=info.width,
        height=info.height,
        fps=info.fps,
        rotation=info.rotation,
    )
    if not info.has_video:
        raise progress.reject(
            "unreadable", "The clip has no video; record it again with the camera on."
        )
    if info.duration_s < v.MIN_DURATION_S:
        raise progress.reject(
            "clip_too_short", f"The clip lasts {info.duration_s:.1f} s; at least 3 s are needed."
        )
    if info.duration_s > v.MAX_DURATION_S:
        raise progress.reject(
            "clip_too_long", f"The clip lasts {info.duration_s:.1f} s; at most 20 s are allowed."
        )
    if not info.has_audio:
        raise progress.reject("no_audio", "The clip has no sound; record with the microphone on.")
    return info


# --- 2. speech --------------------------------------------------------------------------------
def check_speech(
    clip: Path, challenge: v.Challenge, progress: v._Progress, metadata: Metadata
) -> tuple[np.ndarray, list[voice_lib.Segment]]:
    with progress.stage("audio"):
        try:
            audio = media.read_audio(clip, voice_lib.RATE)
        except media.UnreadableClip as exc:
            raise progress.reject(
                "unreadable", "The clip's sound could not be read.", error=str(exc)
            )
    with progress.stage("vad"):
        segments = voice_lib.speech_segments(audio)
    window = (challenge.digits_shown_at, challenge.digits_hidden_at + v.SPEECH_SLACK_S)
    in_window = voice_lib.clip_segments(segments, *window)
    spoken = voice_lib.total_seconds(in_window)
    metadata.update(
        speech_window=list(window),
        speech_segments=[list(s) for s in in_window],
        speech_segments_all=[list(s) for s in segments],
        speech_in_window_s=spoken,
    )
    if spoken < v.MIN_SPEECH_IN_WINDOW_S:
        raise progress.reject(
            "no_speech",
            "We could not hear you read the digits aloud while they were shown; read them clearly, "
            "as soon as they appear.",
            speech_in_window_s=spoken,
        )
    return audio, segments


def check_spoken_digits(
    audio: np.ndarray,
    segments: list[voice_lib.Segment],
    challenge: v.Challenge,
    progress: v._Progress,
    metadata: Metadata,
) -> None:
    """Were the challenge's digits read in the window (digits.check_digits)? Recorded always;
    a rejection only when the challenge gates on it."""
    from cameo.biometrics import digits as digits_lib

    window = (challenge.digits_shown_at, challenge.digits_hidden_at + v.SPEECH_SLACK_S)
    with progress.stage("digits"):
        heard = digits_lib.check_digits(audio, challenge.digits, window, segments)
    metadata.update(
        digits_gate=challenge.digits_gate,
        digits_passed=heard.passed,
        digits_model=heard.model,
        digits_score=heard.score,
        digit_scores=list(heard.digit_scores),
        digits_heard=heard.decoded,
    )
    if challenge.digits_gate and not heard.passed:
        raise progress.reject(
            "challenge_mismatch",
            f"We did not hear the digits {' '.join(challenge.digits)}; read the digits this "
            "challenge shows, aloud, while they are shown.",
            hint="read_the_digits_shown",
            part="digits",
            reason=heard.reason,
            score=heard.score,
        )


# --- 3. faces ---------------------------------------------------------------------------------
def check_faces(
    clip: Path,
    info: media.ClipInfo,
    models_dir: Path | None,
    progress: v._Progress,
    metadata: Metadata,
) -> tuple[FaceBackend, list[FaceFrame]]:
    every_s = max(v.SAMPLE_EVERY_S, info.duration_s / v.MAX_SAMPLED_FRAMES)
    with progress.stage("decode"):
        try:
            frames = media.sample_frames(
                clip, rotation=info.rotation, every_s=every_s, max_side=v.ANALYSIS_MAX_SIDE
            )
        except media.UnreadableClip as exc:
            raise progress.reject(
                "unreadable", "The clip's video could not be read.", error=str(exc)
            )
    with progress.stage("faces"):
        backend = verification_backend(models_dir)
        found = [_subject_faces(backend, f) for f in frames]
        track = [
            FaceFrame(frame, faces[0]) for frame, faces in zip(frames, found, strict=True) if faces
        ]
        crowded = {f.index for f, faces in zip(frames, found, strict=True) if len(faces) > 1}
        crowded |= _bystanders(track)
    crowded_frames = sorted(crowded)
    metadata.update(
        frames_sampled=len(frames),
        frames_with_face=len(track),
        frames_with_several_faces=len(crowded_frames),
        detector_model=backend.detector.name,
        bystander_model=faces_lib.TiledFaceFinder.name,
    )
    # Someone else first: a second face, larger or smaller, also makes the subject hard to track.
    if len(crowded_frames) >= v.MULTIPLE_FACES_MIN_FRAMES:
        raise progress.reject(
            "multiple_faces",
            "Someone else is in the picture; record alone, with no one behind you.",
            frames=crowded_frames,
        )
    if len(track) < max(2, v.FACE_PRESENT_MIN_FRACTION * len(frames)):
        raise progress.reject(
            "no_face",
            "We could not see your face in most of the clip; keep it in the frame, facing the "
            "camera.",
            frames_with_face=len(track),
            frames_sampled=len(frames),
        )
    return backend, track


def _subject_faces(backend: FaceBackend, frame: media.SampledFrame) -> list[Face]:
    """Faces large enough to be a person at selfie distance, largest first."""
    min_width = v.MIN_FACE_WIDTH * frame.image.shape[1]
    faces = backend.detect(frame.image)
    # Any second face counts, however small, as long as the largest is subject-sized.
    return faces if faces and faces[0].width >= min_width else []


def _bystanders(track: list[FaceFrame]) -> set[int]:
    """Frames, of up to BYSTANDER_FRAMES spread over the track, in which the tiled finder sees
    a face away from the subject's, confirmed by a second detector: someone in the background,
    down to a tenth of the frame's width."""
    finder = faces_lib.tiled_face_finder()
    crowded = set()
    for item in _evenly(track, v.BYSTANDER_FRAMES):
        x0, y0, x1, y1 = item.face.box
        pad_x, pad_y = v.SUBJECT_BOX_PAD * (x1 - x0), v.SUBJECT_BOX_PAD * (y1 - y0)
        for face in finder.detect(item.frame.image):
            cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
            beside = not (x0 - pad_x <= cx <= x1 + pad_x and y0 - pad_y <= cy <= y1 + pad_y)
            if beside and finder.confirmed(item.frame.image, face):
                crowded.add(item.frame.index)
                break
    return crowded


# --- 4. quality -------------------------------------------------------------------------------
def check_quality(track: list[FaceFrame], progress: v._Progress, metadata: Metadata) -> None:
    with progress.stage("quality"):
        for item in track:
            item.sharpness = measures.sharpness(item.frame.image, item.face)
            item.brightness = measures.brightness(item.frame.image, item.face)
    sharp = float(np.median([f.sharpness for f in track]))
    light = float(np.median([f.brightness for f in track]))
    metadata.update(sharpness=sharp, brightness=light)
    # Light first: a dark face has little contrast, so it would also measure as blurry.
    if not v.MIN_BRIGHTNESS <= light <= v.MAX_BRIGHTNESS:
        how = "dark" if light < v.MIN_BRIGHTNESS else "bright"
        raise progress.reject(
            "badly_lit",
            f"Your face is too {how}; find even, softer light.",
            hint="more_light" if how == "dark" else "less_light",
            brightness=light,
        )
    if sharp < v.MIN_SHARPNESS:
        raise progress.reject(
            "too_blurry",
            "The picture is too blurry; hold the phone still and clean the lens.",
            sharpness=sharp,
        )


# --- 5. head turn and presentation attacks ---------------------------------------------------
def check_head_turn(
    track: list[FaceFrame], challenge: v.Challenge, progress: v._Progress, metadata: Metadata
) -> float:
    """The yaw the user started from, after checking that the head turned as a head does (not
    as a flat picture), and each way the challenge asked, in its window."""
    from cameo.biometrics import pose

    asked = " then ".join(f"your {t.direction}" for t in challenge.turns)
    with progress.stage("pose"):
        meshes = [pose.landmarks(f.frame.image, f.face) for f in track]
        found = [i for i, m in enumerate(meshes) if m is not None]
        if len(found) < 2:
            raise progress.reject(
                "no_head_turn", f"Keep your face in view and turn your head to {asked}."
            )
        reference = meshes[found[0]]
        assert reference is not None
        sign = -1.0 if challenge.mirrored else 1.0
        raw, parallax = [], []
        for i in found:
            mesh = meshes[i]
            assert mesh is not None
            raw.append(sign * pose.relative_yaw(reference, mesh))
            residual, tilt = pose.planar_fit(reference, mesh)
            if tilt >= v.MOVED_DEG:
                parallax.append(residual / math.sin(math.radians(tilt)))
        yaws = _median3(np.array(raw))
        for item in track:
            item.yaw = math.nan
        for i, yaw in zip(found, yaws, strict=True):
            track[i].yaw = float(yaw)
        times = np.array([track[i].frame.time_s for i in found])
        starting = slice(0, max(2, len(yaws) // 6))
        start = float(np.median(yaws[starting]))
        present = [m for m in meshes if m is not None]  # in the order of `found`
        facings = np.array([sign * pose.face_yaw(m) for m in present])
        facing = float(np.median(facings[starting]))
        for i, own in zip(found, _median3(facings), strict=True):
            track[i].facing = float(own) - facing
        left, right = float(yaws.max()) - start, start - float(yaws.min())
        seen = [_turn_seen(times, yaws - start, turn) for turn in challenge.turns]
    metadata.update(
        pose_model=pose.POSE_MODEL,
        frames_with_mesh=len(found),
        face_yaw_start_deg=facing,
        yaw_start_deg=start,
        yaw_min_deg=float(yaws.min()),
        yaw_max_deg=float(yaws.max()),
        yaw_range_deg=float(yaws.max() - yaws.min()),
        turn_left_deg=left,
        turn_right_deg=right,
        turns_requested=[[t.direction, t.from_s, t.to_s] for t in challenge.turns],
        turns_seen=[[deg, at] for deg, at in seen],
        frames_moved=len(parallax),
        parallax_median=float(np.median(parallax)) if parallax else None,
    )
    # First: the turn and the parallax are measured from the starting pose, and a double is made
    # of frontal frames; neither can be judged from a face that starts in three-quarter view.
    if abs(facing) > v.MAX_START_YAW_DEG:
        side = "left" if facing > 0 else "right"  # the user's own, as yaws are
        raise progress.reject(
            "not_facing_camera",
            f"Your face was turned to your {side} at the start; begin facing the camera, "
            "straight on, and turn only when the arrows show.",
            face_yaw_deg=facing,
        )
    if len(parallax) >= v.MIN_MOVED_FRAMES and float(np.median(parallax)) < v.MIN_PARALLAX:
        raise progress.reject(
            "presentation_attack",
            "The face moved like a flat picture, not a head; record yourself, live.",
            parallax=float(np.median(parallax)),
            frames_moved=len(parallax),
        )
    if max(left, right) < v.MIN_TURN_DEG:
        raise progress.reject(
            "no_head_turn",
            f"We did not see your head turn: turn it further to {asked}, as the arrows show.",
            turn_left_deg=left,
            turn_right_deg=right,
        )
    for k, (turn, (degrees, at)) in enumerate(zip(challenge.turns, seen, strict=True)):
        if at is None or degrees < v.MIN_TURN_DEG:
            when = f" while its arrow shows ({turn.from_s:.1f} s)" if turn.to_s < math.inf else ""
            raise progress.reject(
                "challenge_mismatch",
                f"Turn {k + 1} did not follow the challenge: turn your head to your "
                f"{turn.direction}{when}, then back.",
                part="turns",
                turn=k,
                turn_deg=degrees,
                turn_at_s=at,
            )
    return start


def _turn_seen(
    times: np.ndarray, excursion: np.ndarray, turn: v.Turn
) -> tuple[float, float | None]:
    """How far the head went towards the turn's side (degrees) and when, where that furthest
    point is a peak of the motion that falls in the turn's window (with slack); (0, None) when
    the window holds no such peak. A flank of a turn made earlier or later does not count."""
    toward = excursion if turn.direction == "left" else -excursion
    lo, hi = turn.from_s - v.TURN_SLACK_S, turn.to_s + v.TURN_SLACK_S
    inside = np.flatnonzero((times >= lo) & (times <= hi))
    if not len(inside):
        return 0.0, None
    i = int(inside[np.argmax(toward[inside])])
    while True:  # climb to the top of the motion this point belongs to
        j = max((k for k in (i - 1, i + 1) if 0 <= k < len(toward)), key=lambda k: toward[k])
        if toward[j] <= toward[i]:
            break
        i = j
    if not lo <= times[i] <= hi:
        return 0.0, None
    return float(toward[i]), float(times[i])


def _median3(values: np.ndarray) -> np.ndarray:
    """Running median of three, so one frame's landmark glitch is not a turn."""
    if len(values) < 3:
        return values
    padded = np.concatenate([values[:1], values, values[-1:]])
    return np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)


# --- 6. identity ------------------------------------------------------------------------------
def check_identity(
    backend: FaceBackend,
    track: list[FaceFrame],
    start_yaw: float,
    challenge: v.Challenge,
    progress: v._Progress,
    metadata: Metadata,
) -> np.ndarray:
    """The double's embedding (the frontal frames' mean), after checking that one face was in
    view throughout: the frontal face after each turn is the one before it, and so is the face
    once the last arrow has gone (the user looks back at the camera), each turned frame agrees
    loosely with the double, and each frame with the one sampled before it (where a face taking
    over shows, at whatever yaw the mesh reads on it)."""
    with progress.stage("identity"):
        picked = _evenly(track, v.MAX_EMBEDDED_FRAMES)
        vectors = backend.embed_many([(f.frame.image, f.face) for f in picked])
        for item, vector in zip(picked, vectors, strict=True):
            item.embedding = vector
    limits = v.similarity_thresholds(backend.embedder.name)
    # Frontal by either measure: a face that took over reads as turned against the first
    # frame's mesh (another shape), not by its own yaw.
    frontal = [
        f
        for f in picked
        if abs(f.yaw - start_yaw) <= v.FRONTAL_DEG or abs(f.facing) <= v.FRONTAL_DEG
    ] or picked
    turned = [f for f in picked if f not in frontal]
    double = _unit(np.mean([_embedding(f) for f in frontal], axis=0))
    # The frontal frames fall in runs between turns: each run's mean face must be the first
    # run's. Means of several frames each, so one noisy frame does not refuse a clip, and a
    # comparison of two people's means is what the doubles' FMR curve measures.
    runs = _frontal_runs(picked, frontal)
    first = _unit(np.mean([_embedding(f) for f in runs[0]], axis=0))
    to_first = [float(_unit(np.mean([_embedding(f) for f in run], axis=0)) @ first) for run in runs]
    # After the last arrow the user is back facing the camera, whatever the mesh reads: a face
    # that took over reads as turned against the first frame's mesh, and would be judged only
    # as loosely as a turned one.
    last = challenge.turns[-1].to_s + v.TURN_SLACK_S
    ending = [f for f in picked if f.frame.time_s >= last]
    end = (
        float(_unit(np.mean([_embedding(f) for f in ending], axis=0)) @ first)
        if len(ending) >= v.END_MIN_FRAMES
        else None
    )
    # Split the frontal frames anywhere in time: the mean face before must be the mean face
    # after. A face taking over while frontal joins the run it interrupts (its yaw is read
    # against the same mesh), so the runs alone miss it; the split at the takeover does not.
    split = _worst_split(frontal)
    to_double = {id(f): float(_embedding(f) @ double) for f in picked}
    # Frames sampled next to each other differ by a fraction of a turn: a low similarity there
    # is a different face taking over, whatever yaw the mesh read on it.
    adjacent = [float(_embedding(a) @ _embedding(b)) for a, b in itertools.pairwise(picked)]
    worst = min([*to_first[1:], *([split[0]] if split else [])], default=1.0)
    worst_turned = min((to_double[id(f)] for f in turned), default=1.0)
    worst_adjacent = min(adjacent, default=1.0)
    metadata.update(
        embedding_model=backend.embedder.name,
        frames_embedded=len(picked),
        frames_in_double=len(frontal),
        identity_similarity_min=worst,
        frontal_runs=[len(run) for run in runs],
        identity_split_similarity_min=split[0] if split else None,
        identity_split_at_s=split[1] if split else None,
        identity_end_similarity=end,
        identity_turned_similarity_min=worst_turned,
        identity_adjacent_similarity_min=worst_adjacent,
        # Each embedded frame: seconds, yaw from the start, similarity to the double and to the
        # frame before it.
        identity_frames=[
            [
                f.frame.time_s,
                f.yaw - start_yaw if math.isfinite(f.yaw) else None,
                to_double[id(f)],
                adjacent[k - 1] if k else None,
            ]
            for k, f in enumerate(picked)
        ],
    )
    # The frontal face, before and after each turn, must agree closely; the turned frames only
    # loosely with it, since the turn itself lowers similarity.
    if end is not None and end < limits.same_clip:
        raise progress.reject(
            "identity_changed",
            "The face at the end of the clip is not the one at its start; keep your own face in "
            "view, and look back at the camera after the last arrow until the recording stops.",
            part="end",
            similarity=end,
        )
    if worst < limits.same_clip or worst_turned < limits.turned or worst_adjacent < limits.adjacent:
        raise progress.reject(
            "identity_changed",
            "The face changed during the clip; keep your own face in view the whole time.",
            similarity=worst,
            turned_similarity=worst_turned,
            adjacent_similarity=worst_adjacent,
        )
    return double


def _embedding(item: FaceFrame) -> np.ndarray:
    """The frame's embedding, which check_identity has just set on every picked frame."""
    if item.embedding is None:
        raise ValueError("the frame has not been embedded")
    return item.embedding


def _evenly(items: list[FaceFrame], count: int) -> list[FaceFrame]:
    if len(items) <= count:
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count).round()]


def _worst_split(frontal: list[FaceFrame]) -> tuple[float, float] | None:
    """The lowest similarity between the mean of the frontal frames before a point in time and
    the mean of those after it, over every point with enough frames on both sides, and that
    point's time; None when the clip has too few frontal frames to split."""
    ordered = sorted(frontal, key=lambda f: f.frame.time_s)
    least = v.SPLIT_MIN_FRAMES
    if len(ordered) < 2 * least:
        return None
    vectors = np.stack([_embedding(f) for f in ordered])
    prefix = np.cumsum(vectors, axis=0)
    total = prefix[-1]
    worst: tuple[float, float] | None = None
    for k in range(least, len(ordered) - least + 1):
        score = float(_unit(prefix[k - 1]) @ _unit(total - prefix[k - 1]))
        if worst is None or score < worst[0]:
            worst = (score, ordered[k].frame.time_s)
    return worst


def _frontal_runs(picked: list[FaceFrame], frontal: list[FaceFrame]) -> list[list[FaceFrame]]:
    """The frontal frames in runs of consecutive ones, in time order."""
    runs: list[list[FaceFrame]] = []
    previous_frontal = False
    for item in picked:
        is_frontal = item in frontal
        if is_frontal and previous_frontal:
            runs[-1].append(item)
        elif is_frontal:
            runs.append([item])
        previous_frontal = is_frontal
    return runs


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(1e-12, float(np.linalg.norm(vector)))).astype(np.float32)


# --- 7. impersonation -------------------------------------------------------------------------
def check_impersonation(
    embedding: np.ndarray,
    model: str,
    others: Sequence[v.OtherDouble],
    progress: v._Progress,
    metadata: Metadata,
) -> None:
    with progress.stage("impersonation"):
        comparable = [
            o for o in others if o.model == model and np.shape(o.embedding) == embedding.shape
        ]
        scores = [float(np.dot(embedding, np.asarray(o.embedding, np.float32))) for o in comparable]
    best = int(np.argmax(scores)) if scores else -1
    metadata.update(
        others_compared=len(comparable),
        impersonation_similarity_max=scores[best] if scores else None,
    )
    if scores and scores[best] >= v.similarity_thresholds(model).impersonation:
        raise progress.reject(
            "impersonation",
            "This face already belongs to another verified cameo; contact support if it is yours.",
            matched_key=comparable[best].key,
            similarity=scores[best],
        )


# --- 8. extraction ----------------------------------------------------------------------------
def extract_voice(
    audio: np.ndarray,
    segments: list[voice_lib.Segment],
    progress: v._Progress,
    metadata: Metadata,
) -> v.VoiceProfile:
    with progress.stage("voice"):
        speech = voice_lib.speech_audio(audio, segments)
        embedding = voice_lib.voice_embedding(speech)
        pitches = voice_lib.pitch_hz(speech)
    p10, median, p90 = (
        (float(x) for x in np.percentile(pitches, [10, 50, 90])) if len(pitches) else (0.0,) * 3
    )
    metadata.update(voiced_frames=len(pitches))
    return v.VoiceProfile(
        embedding=embedding,
        pitch_hz_median=median,
        pitch_hz_p10=p10,
        pitch_hz_p90=p90,
        speech_seconds=voice_lib.total_seconds(segments),
    )


def extract_crops(
    backend: FaceBackend,
    track: list[FaceFrame],
    start_yaw: float,
    progress: v._Progress,
    metadata: Metadata,
) -> tuple[list[bytes], FaceFrame]:
    """PNGs of the three sharpest, most frontal aligned faces, and the best frame of all."""
    import cv2

    def merit(f: FaceFrame) -> float:
        off = f.yaw - start_yaw if math.isfinite(f.yaw) else 90.0  # no mesh: last resort
        return f.sharpness / (1.0 + (off / 10.0) ** 2)

    with progress.stage("crops"):
        ranked = sorted(track, key=merit, reverse=True)[:3]
        crops = []
        for item in ranked:
            ok, png = cv2.imencode(".png", backend.crop(item.frame.image, item.face))
            if ok:
                crops.append(png.tobytes())
    metadata.update(
        crop_times_s=[f.frame.time_s for f in ranked], best_frame_time_s=ranked[0].frame.time_s
    )
    return crops, ranked[0]


def extract_cutout(best: FaceFrame, progress: v._Progress, metadata: Metadata) -> bytes:
    from cameo.biometrics import cutout

    with progress.stage("cutout"):
        mask = cutout.person_mask(best.frame.image)
        png = cutout.cutout_png(best.frame.image, mask)
    metadata["cutout_person_fraction"] = float((mask >= 0.5).mean())
    return png

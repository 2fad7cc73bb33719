"""Moderation's automated checks, and the cases they open.

Screening (REQUEST and PUBLISH): the words of a request (prompt, subject names, dialogue) and
of a caption against configurable rules: blocked terms, public figures, and sexual terms
together with minors. Unknown faces (OUTPUT): every face in a render must be a cast double's
(or, in a remix, the source's own subject); any other face holds the post for a moderator.
A hold opens an automated report in the post's one open case.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from config import screens
from config.screens import Point, Subject, Verdict
from moderation.models import Case, Reason, Refusal

# --- Matching: whole words through case, accents, l33t digits and separators ---------------
# What each letter may be written as. Digits and symbols that stand for letters match only
# where a term has that letter, so "b00k" is not "book"-blocked unless "book" is a term.
_LOOKALIKES = {
    "a": "a4@",
    "b": "b8",
    "e": "e3",
    "g": "g9",
    "i": "i1!|l",
    "l": "l1|i",
    "o": "o0",
    "s": "s5$",
    "t": "t7+",
    "z": "z2",
}
# Between two letters of one word: up to three symbols ("s.e.x", "s--e--x"), or exactly one
# space or symbol at every gap ("s e x"); never a letter, so "Scunthorpe" is not "cunt".
_GAP_SYMBOLS = r"(?:[^\w\s]|_){0,3}"
_GAP_SPACED = r"[\W_]"
_EDGE_BEFORE = r"(?<![a-z0-9])"
_EDGE_AFTER = r"(?:e?s)?(?![a-z0-9])"  # a plural is the same word


def fold(text: str) -> str:
    """Lower case without accents: "Beyoncé" is "beyonce", "ＳＥＸ" is "sex"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _letter(char: str) -> str:
    return f"[{re.escape(_LOOKALIKES.get(char, char))}]"


def _word(word: str, gap: str) -> str:
    return gap.join(_letter(c) for c in word)


def term_pattern(term: str) -> re.Pattern[str]:
    """A term's words, each letter by its lookalikes; the words of a name may be run together
    or split by any separators ("Taylor-Swift", "#taylorswift")."""
    words = fold(term).split()
    variants = [
        r"[\W_]*".join(_word(w, _GAP_SYMBOLS) for w in words),
        r"[\W_]+".join(_word(w, _GAP_SPACED) for w in words),
    ]
    return re.compile(_EDGE_BEFORE + "(?:" + "|".join(variants) + ")" + _EDGE_AFTER)


@dataclass(frozen=True)
class TermList:
    terms: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, terms: Iterable[str]) -> TermList:
        kept = tuple(dict.fromkeys(t.strip() for t in terms if t.strip()))
        return cls(kept, tuple(term_pattern(t) for t in kept))

    def first_in(self, texts: Mapping[str, str]) -> tuple[str, str] | None:
        """(field, term) of the first term found, fields in the order given."""
        for name, text in texts.items():
            folded = fold(text)
            for term, pattern in zip(self.terms, self.patterns, strict=True):
                if pattern.search(folded):
                    return name, term
        return None


@dataclass(frozen=True)
class Rules:
    blocked: TermList
    public_figures: TermList
    sexual: TermList
    minors: TermList
    minor_age: re.Pattern[str]
    minor_age_below: int

    def minor_in(self, texts: Mapping[str, str]) -> tuple[str, str] | None:
        found = self.minors.first_in(texts)
        if found is not None:
            return found
        for name, text in texts.items():
            for match in self.minor_age.finditer(fold(text)):
                if int(match.group(1)) < self.minor_age_below:
                    return name, match.group(0).strip()
        return None


_AGE = re.compile(r"(?<![0-9])([0-9]{1,2})[\W_]*(?:yo|y/o|yrs?[\W_]*old|years?[\W_]*old)\b")


def screening_settings() -> dict[str, Any]:
    config: dict[str, Any] = settings.SCREENING
    return config


def rules() -> Rules:
    config = screening_settings()
    return _rules(
        Path(config["RULES_FILE"]),
        tuple(config.get("EXTRA_BLOCKED_TERMS", ())),
        tuple(config.get("EXTRA_PUBLIC_FIGURES", ())),
    )


@functools.cache
def _rules(path: Path, extra_blocked: tuple[str, ...], extra_figures: tuple[str, ...]) -> Rules:
    """Read and compiled once per process for each configuration."""
    with open(path, "rb") as handle:
        data: dict[str, Any] = tomllib.load(handle)
    return Rules(
        blocked=TermList.of([*data.get("blocked_terms", []), *extra_blocked]),
        public_figures=TermList.of([*data.get("public_figures", []), *extra_figures]),
        sexual=TermList.of(data.get("sexual_terms", [])),
        minors=TermList.of(data.get("minor_terms", [])),
        minor_age=_AGE,
        minor_age_below=int(data.get("minor_age_below", 18)),
    )


# --- The screening checks ---------------------------------------------------------------------
def _passed(check: str) -> Verdict:
    return Verdict(check=check, outcome="pass")


def blocked_terms(subject: Subject) -> Verdict:
    check = "screening.blocked_terms"
    found = rules().blocked.first_in(subject.texts)
    if found is None:
        return _passed(check)
    field, term = found
    return Verdict(
        check=check,
        outcome="refuse",
        code="blocked_term",
        reason=f'The {field} contains "{term}", which is not allowed. Remove or reword it.',
        detail={"field": field, "term": term},
    )


def public_figures(subject: Subject) -> Verdict:
    check = "screening.public_figures"
    found = rules().public_figures.first_in(subject.texts)
    if found is None:
        return _passed(check)
    field, name = found
    return Verdict(
        check=check,
        outcome="refuse",
        code="public_figure",
        reason=(
            f'The {field} names "{name}", a real person who has not agreed to appear. '
            "Remove the name, or cast a cameo instead (yours, or one shared with you)."
        ),
        detail={"field": field, "term": name},
    )


def sexual_minors(subject: Subject) -> Verdict:
    check = "screening.sexual_minors"
    found = rules()
    sexual, minor = found.sexual.first_in(subject.texts), found.minor_in(subject.texts)
    if sexual is None or minor is None:
        return _passed(check)
    return Verdict(
        check=check,
        outcome="refuse",
        code="sexual_minors",
        reason=(
            f'Sexual content involving minors is never allowed: the {sexual[0]} has "{sexual[1]}"'
            f' and the {minor[0]} has "{minor[1]}". Remove the sexual content.'
        ),
        detail={"fields": [sexual[0], minor[0]], "terms": [sexual[1], minor[1]]},
    )


# --- Holds open cases -------------------------------------------------------------------------
# A hold's code says what a moderator is asked to look at; a check's family when no code does.
HOLD_REASONS = {
    "unknown_face": Reason.IMPERSONATION,
    "logo": Reason.IP_INFRINGEMENT,
    "trademark": Reason.IP_INFRINGEMENT,
    "known_copy": Reason.IP_INFRINGEMENT,
}
CHECK_REASONS = {
    "faces": Reason.IMPERSONATION,
    "rights": Reason.IP_INFRINGEMENT,
    "copies": Reason.IP_INFRINGEMENT,
}


def hold_reason(verdict: Verdict) -> str:
    if verdict.code in HOLD_REASONS:
        return HOLD_REASONS[verdict.code].value
    for prefix in (verdict.code.split("_")[0], verdict.check.split(".")[0]):
        if prefix in HOLD_REASONS:
            return HOLD_REASONS[prefix].value
        if prefix in CHECK_REASONS:
            return CHECK_REASONS[prefix].value
    return Reason.OTHER.value


def case_open_for_holds(subject: Subject, holds: list[Verdict]) -> None:
    """Each hold on a post files an automated report into the post's open case."""
    from moderation.services import report_file_automated

    if subject.post is None:
        return
    for verdict in holds:
        report_file_automated(
            check_name=verdict.check[:40],
            target_kind=Case.Target.POST,
            target_id=str(subject.post.pk),
            reason=hold_reason(verdict),
            text=verdict.reason,
        )


# --- Unknown faces at OUTPUT ------------------------------------------------------------------
MIN_FACE_SIDE = 24  # pixels in the analysed frame: smaller "faces" are texture, not a person
ANALYSIS_MAX_SIDE = 640


@dataclass(frozen=True)
class FoundFace:
    t: float
    box: tuple[float, float, float, float]
    similarity: float  # to the nearest allowed face; -1 when none is allowed


@dataclass(frozen=True)
class OutputFrame:
    time_s: float
    image: Any  # BGR uint8


def _frames(path: Path, count: int) -> list[OutputFrame]:
    """`count` frames spread over the video (the middle of each equal part), scaled to fit
    ANALYSIS_MAX_SIDE. Decoded in order with the decoder's threads: the renders' keyframes
    are seconds apart, so seeking to each frame would decode more, not less (measured)."""
    import av

    frames: list[OutputFrame] = []
    if count < 1:
        return frames
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base = stream.time_base
        duration = float(stream.duration * base) if stream.duration and base else 0.0
        width, height = stream.codec_context.width, stream.codec_context.height
        scale = min(1.0, ANALYSIS_MAX_SIDE / max(width, height, 1))
        size = (max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2))
        targets = [duration * (k + 0.5) / count for k in range(count)]
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else 0.0
            if t + 1e-3 >= targets[len(frames)]:
                image = frame.to_ndarray(format="bgr24", width=size[0], height=size[1])
                frames.append(OutputFrame(t, image))
                if len(frames) == count:
                    break
    return frames


def _faces(backend: Any, path: Path, count: int) -> list[tuple[float, Any, Any]]:
    """(time, frame, face) for each face a person could be recognised by. The renderer's
    drawn figures (a disc with two dots) reach the detector's lowest scores; below the
    configured score a detection is not taken for a person."""
    min_score = float(screening_settings().get("UNKNOWN_FACE_MIN_SCORE", 0.7))
    found = []
    for frame in _frames(path, count):
        for face in backend.detect(frame.image):
            if face.score >= min_score and min(face.width, face.height) >= MIN_FACE_SIDE:
                found.append((frame.time_s, frame.image, face))
    return found


@functools.lru_cache(maxsize=256)
def _cutout_embedding(name: str, backend_name: str) -> bytes | None:
    """The double's own picture (its verified cut-out, which renders paste) embedded with the
    backend that reads the output: the reference even where the stored embedding came from
    another model. Cached by file name, which changes whenever the cut-out does."""
    import cv2
    import numpy as np
    from django.core.files.storage import default_storage

    from cameo.biometrics.faces import face_backend

    backend = face_backend(settings.MODELS_DIR)
    try:
        with default_storage.open(name, "rb") as handle:
            data = np.frombuffer(handle.read(), dtype=np.uint8)
    except OSError:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        return None
    picture = np.asarray(image)
    faces = backend.detect(picture)
    return backend.embed(picture, faces[0]).tobytes() if faces else None


def _cast_references(cast: Iterable[Any], backend: Any) -> list[Any]:
    import numpy as np

    from cameo.models import Biometrics, Cameo

    references = []
    doubles = Biometrics.objects.filter(
        cameo_id__in=[str(c) for c in cast], cameo__state=Cameo.State.ACTIVE
    )
    for bio in doubles:
        if bio.embedding_model == backend.embedder.name:
            references.append(np.frombuffer(bytes(bio.face_embedding), dtype=np.float32))
        cutout = _cutout_embedding(bio.cutout, backend.name) if bio.cutout else None
        if cutout is not None:
            references.append(np.frombuffer(cutout, dtype=np.float32))
    return references


def _source_references(source: Any, backend: Any, count: int) -> list[Any]:
    """A remix keeps its source's people: the faces already in the source are allowed."""
    import tempfile

    from django.core.files.storage import default_storage

    if source is None or not source.video.file:
        return []
    with tempfile.TemporaryDirectory() as scratch:
        try:
            local = Path(default_storage.path(source.video.file))
        except NotImplementedError:  # object storage: read a copy
            local = Path(scratch) / "source.mp4"
            with default_storage.open(source.video.file, "rb") as handle:
                local.write_bytes(handle.read())
        found = _faces(backend, local, count)
    if not found:
        return []
    return list(backend.embed_many([(image, face) for _, image, face in found]))


def unknown_faces(subject: Subject) -> Verdict:
    """Every face in an output belongs to a cast double the requester may use (the cast was
    authorised at submission and again at render), or to the remixed source's own subject."""
    import numpy as np

    from cameo.biometrics.contract import similarity_thresholds
    from cameo.biometrics.faces import face_backend

    check = "faces.unknown"
    if subject.path is None or not Path(subject.path).is_file():
        return Verdict(check=check, outcome="pass", detail={"faces": 0, "read": False})
    count = int(screening_settings().get("UNKNOWN_FACE_FRAMES", 6))
    backend = face_backend(settings.MODELS_DIR)
    found = _faces(backend, Path(subject.path), count)
    detail: dict[str, Any] = {"faces": len(found), "backend": backend.name}
    if not found:
        return Verdict(check=check, outcome="pass", detail=detail)
    allowed = _cast_references(subject.cast, backend)
    allowed += _source_references(subject.source, backend, count)
    threshold = similarity_thresholds(backend.embedder.name).impersonation
    nearest = np.full(len(found), -1.0)
    if allowed:  # with nobody allowed, every face is unknown: no need to embed them
        embeddings = backend.embed_many([(image, face) for _, image, face in found])
        nearest = (embeddings @ np.stack(allowed).T).max(axis=1)
    faces = [
        FoundFace(t, tuple(round(v, 1) for v in face.box), round(float(s), 3))
        for (t, _, face), s in zip(found, nearest, strict=True)
    ]
    unknown = [f for f in faces if f.similarity < threshold]
    detail.update(threshold=threshold, nearest=[f.similarity for f in faces])
    if not unknown:
        return Verdict(check=check, outcome="pass", detail=detail)
    first = unknown[0]
    return Verdict(
        check=check,
        outcome="hold",
        code="unknown_face",
        reason=(
            f"{len(unknown)} of {len(faces)} faces found match no cameo cast in this video "
            f"(first at {first.t:.1f} s): a moderator checks it is nobody's likeness used "
            "without consent before it goes live."
        ),
        detail={**detail, "unknown": [{"t": f.t, "box": list(f.box)} for f in unknown[:10]]},
    )


def checks_register() -> None:
    """Called once from ModerationConfig.ready."""
    for point in (Point.REQUEST, Point.PUBLISH):
        screens.register(point, "screening.blocked_terms", blocked_terms)
        screens.register(point, "screening.public_figures", public_figures)
        screens.register(point, "screening.sexual_minors", sexual_minors)
    screens.register(Point.OUTPUT, "faces.unknown", unknown_faces)
    screens.on_hold("moderation.cases", case_open_for_holds)
    screens.on_refusal("moderation.refusals", refusals_record)


def refusals_record(user: Any, refusals: list[screens.Verdict]) -> None:
    """Keep a row per refusal (the refused request itself was rolled back)."""
    signed_in = user if getattr(user, "is_authenticated", False) else None
    Refusal.objects.bulk_create(
        Refusal(user=signed_in, check_name=v.check, code=v.code, reason=v.reason[:2000])
        for v in refusals
    )

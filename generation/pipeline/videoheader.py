"""The picture size a video container declares for its video tracks, read without a demuxer.

FFmpeg decodes a frame while it opens a file (to learn the pixel format), and a decoder bounded
by `max_pixels` forgets the size it refused. Reading the size from the container first lets the
probe say "too many pixels" for an honestly huge video; a file whose container lies is still
refused by the bounded decoder, only as damaged.

Covers MP4/MOV (the visual sample entry in each video track's `stsd`) and Matroska/WebM
(PixelWidth and PixelHeight in each track's Video element). Anything unexpected returns None
and leaves the verdict to the demuxer.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_MAX_ELEMENTS = 10_000  # children walked in one parent; real files have a few dozen


def video_declared_size(path: Path, family: str) -> tuple[int, int] | None:
    """The largest (width, height) any video track declares, or None when it cannot tell."""
    readers = {"mp4": _bmff, "quicktime": _bmff, "matroska": _matroska}
    if family not in readers:
        return None
    with open(path, "rb") as handle:
        end = os.fstat(handle.fileno()).st_size
        try:
            sizes = list(readers[family](handle, end))
        except (struct.error, ValueError):
            return None
    return max(sizes, key=lambda size: size[0] * size[1]) if sizes else None


# --- MP4 / MOV --------------------------------------------------------------------------------
def _boxes(handle: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for each box between start and end."""
    offset = start
    for _ in range(_MAX_ELEMENTS):
        if offset + 8 > end:
            return
        handle.seek(offset)
        size, kind = struct.unpack(">I4s", handle.read(8))
        payload = offset + 8
        if size == 1:
            (size,) = struct.unpack(">Q", handle.read(8))
            payload += 8
        elif size == 0:
            size = end - offset
        if size < payload - offset or offset + size > end:
            raise ValueError("box outside its parent")
        yield kind, payload, offset + size
        offset += size


def _child(handle: BinaryIO, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for found, payload, box_end in _boxes(handle, start, end):
        if found == kind:
            return payload, box_end
    return None


def _bmff(handle: BinaryIO, end: int) -> Iterator[tuple[int, int]]:
    moov = _child(handle, 0, end, b"moov")
    if moov is None:
        return
    for kind, payload, trak_end in list(_boxes(handle, *moov)):
        if kind == b"trak":
            size = _bmff_track(handle, payload, trak_end)
            if size is not None:
                yield size


def _bmff_track(handle: BinaryIO, start: int, end: int) -> tuple[int, int] | None:
    mdia = _child(handle, start, end, b"mdia")
    hdlr = mdia and _child(handle, *mdia, b"hdlr")
    if not mdia or not hdlr:
        return None
    handle.seek(hdlr[0] + 8)  # version/flags, pre_defined
    if handle.read(4) != b"vide":
        return None
    stsd: tuple[int, int] | None = mdia
    for kind in (b"minf", b"stbl", b"stsd"):
        stsd = stsd and _child(handle, *stsd, kind)
    if not stsd:
        return None
    # stsd: version/flags and entry count, then the first entry: box header, 6 reserved bytes,
    # data reference index, 16 bytes pre-defined/reserved, then width and height.
    handle.seek(stsd[0] + 8 + 8 + 24)
    width, height = struct.unpack(">HH", handle.read(4))
    return width, height


# --- Matroska / WebM --------------------------------------------------------------------------
_SEGMENT, _TRACKS, _TRACK_ENTRY, _VIDEO = 0x18538067, 0x1654AE6B, 0xAE, 0xE0
_PIXEL_WIDTH, _PIXEL_HEIGHT, _CLUSTER = 0xB0, 0xBA, 0x1F43B675


def _vint(handle: BinaryIO, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer: (value, length); all ones in a size means unknown."""
    first = handle.read(1)
    if not first:
        raise ValueError("end of file")
    length = 9 - first[0].bit_length()
    if length > 8:
        raise ValueError("bad EBML integer")
    value = first[0] if keep_marker else first[0] & (0xFF >> length)
    for byte in handle.read(length - 1):
        value = (value << 8) | byte
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return -1, length
    return value, length


def _elements(handle: BinaryIO, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(id, payload start, element end) for each element between start and end."""
    offset = start
    for _ in range(_MAX_ELEMENTS):
        if offset >= end:
            return
        handle.seek(offset)
        element, id_length = _vint(handle, keep_marker=True)
        size, size_length = _vint(handle, keep_marker=False)
        payload = offset + id_length + size_length
        if size < 0:  # unknown size: only a live Segment or Cluster does this
            if element != _SEGMENT:
                return
            size = end - payload
        if payload + size > end:
            raise ValueError("element outside its parent")
        yield element, payload, payload + size
        offset = payload + size


def _matroska(handle: BinaryIO, end: int) -> Iterator[tuple[int, int]]:
    for element, payload, segment_end in _elements(handle, 0, end):
        if element != _SEGMENT:
            continue
        for child, start, child_end in _elements(handle, payload, segment_end):
            if child == _CLUSTER:
                return  # media data: the track list comes before it in any file we accept
            if child == _TRACKS:
                yield from _matroska_tracks(handle, start, child_end)
                return


def _matroska_tracks(handle: BinaryIO, start: int, end: int) -> Iterator[tuple[int, int]]:
    for entry, entry_start, entry_end in list(_elements(handle, start, end)):
        if entry != _TRACK_ENTRY:
            continue
        for child, video_start, video_end in list(_elements(handle, entry_start, entry_end)):
            if child == _VIDEO:
                found = {
                    element: _uint(handle, value_start, value_end)
                    for element, value_start, value_end in _elements(handle, video_start, video_end)
                    if element in (_PIXEL_WIDTH, _PIXEL_HEIGHT)
                }
                yield found.get(_PIXEL_WIDTH, 0), found.get(_PIXEL_HEIGHT, 0)


def _uint(handle: BinaryIO, start: int, end: int) -> int:
    if end - start > 8:
        raise ValueError("integer too long")
    handle.seek(start)
    return int.from_bytes(handle.read(end - start), "big")

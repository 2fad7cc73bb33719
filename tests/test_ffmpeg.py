from __future__ import annotations

from pathlib import Path

from generation.pipeline.ffmpeg import parse_progress_line, run_ffmpeg, transcode_args
from generation.pipeline.probe import probe, sniff
from tests import media


def test_transcode_args_ask_for_h264_aac_faststart_and_progress() -> None:
    argv = transcode_args(Path("in.mov"), Path("out.mp4"), max_height=720, preset="fast")
    joined = " ".join(argv)
    for piece in ("-vcodec libx264", "-acodec aac", "-movflags +faststart", "-progress pipe:1"):
        assert piece in joined
    assert "min(720,ih)" in joined
    assert "out.mp4" in argv and "-y" in argv


def test_progress_lines_are_read_as_seconds() -> None:
    assert parse_progress_line("out_time_us=1500000\n") == 1.5
    assert parse_progress_line("out_time_ms=2000000") == 2.0
    assert parse_progress_line("out_time_us=N/A") is None
    assert parse_progress_line("frame=12") is None


def test_a_transcode_reports_rising_progress_and_writes_a_playable_file(tmp_path: Path) -> None:
    src = media.make_clip(tmp_path / "src.mp4", seconds=2, size="640x360")
    dst = tmp_path / "out.mp4"
    seen: list[float] = []
    run_ffmpeg(transcode_args(src, dst, max_height=240), duration_s=2.0, on_fraction=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] > 0.9
    out = probe(dst)
    assert (out.height, out.video_codec, out.has_audio) == (240, "h264", True)


def test_sniffing_reads_magic_bytes() -> None:
    assert sniff(b"\x00\x00\x00\x18ftypisom\x00\x00") == "mp4"
    assert sniff(b"\x00\x00\x00\x14ftypqt  \x00\x00") == "quicktime"
    assert sniff(b"\x1a\x45\xdf\xa3rest") == "matroska"
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "png"
    assert sniff(b"#!/bin/sh\n") is None

"""Subtitles stage: WebVTT from the lines as voiced, and the ffmpeg filter that burns them in.

Cue times come from the Soundtrack's SpokenLine spans, never from the planned start times, so
the words are on screen exactly while they are heard. Burn-in uses ffmpeg's libass `subtitles`
filter, which the imageio-ffmpeg binary carries.
"""

from __future__ import annotations

import functools
import subprocess
import textwrap
from pathlib import Path

from generation.pipeline.ffmpeg import ffmpeg_exe
from generation.pipeline.timeline import SpokenLine

CHARS_PER_LINE = 42
LINES_PER_CUE = 2
SCRIPT_HEIGHT = 288  # libass lays out converted text subtitles on a 288-line canvas


def timestamp(seconds: float) -> str:
    """HH:MM:SS.mmm, rounded to the millisecond."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cue_pieces(line: SpokenLine) -> list[tuple[float, float, list[str]]]:
    """The line wrapped at ~42 characters and split into cues of at most two lines each.

    A line too long for one cue is shared out over its span by character count, so each
    piece is on screen roughly while it is being said; the first starts and the last ends
    exactly with the speech.
    """
    rows = textwrap.wrap(line.text, CHARS_PER_LINE) or [""]
    chunks = [rows[i : i + LINES_PER_CUE] for i in range(0, len(rows), LINES_PER_CUE)]
    weights = [sum(len(row) for row in chunk) for chunk in chunks]
    total, spent = max(sum(weights), 1), 0
    pieces = []
    for chunk, weight in zip(chunks, weights, strict=True):
        start = line.start_s + (line.end_s - line.start_s) * spent / total
        spent += weight
        end = line.start_s + (line.end_s - line.start_s) * spent / total
        pieces.append((start, end, chunk))
    return pieces


def webvtt(spoken: list[SpokenLine]) -> str:
    """A WebVTT document: one or more cues per spoken line, the speaker as a voice span."""
    blocks = ["WEBVTT"]
    for line in spoken:
        voice = _escape(line.speaker)
        for start, end, rows in cue_pieces(line):
            text = "\n".join(_escape(row) for row in rows)
            blocks.append(f"{timestamp(start)} --> {timestamp(end)}\n<v {voice}>{text}</v>")
    return "\n\n".join(blocks) + "\n"


def write_webvtt(spoken: list[SpokenLine], path: Path) -> Path:
    path.write_text(webvtt(spoken), encoding="utf-8")
    return path


# --- Burn-in ------------------------------------------------------------------------------------
@functools.cache
def subtitles_filter_available() -> bool:
    """Whether this ffmpeg was built with libass; without it burn_in_filter cannot work."""
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-filters"], capture_output=True, text=True, timeout=20
    )
    return any(row.split()[1:2] == ["subtitles"] for row in out.stdout.splitlines())


def _filter_value(text: str) -> str:
    """Escape a value twice: once for the filter's options, once for the filtergraph."""
    for special in "\\':":
        text = text.replace(special, "\\" + special)
    for special in "\\'[],;":
        text = text.replace(special, "\\" + special)
    return text


def burn_in_filter(vtt: Path, *, width: int, height: int, font: str = "DejaVu Sans") -> str:
    """The -vf that draws vtt's cues onto the video, sized so a 42-character row fits the width.

    Font size is on libass's 288-line canvas; a glyph is about 0.55 em wide on average.
    """
    font_px = width / (CHARS_PER_LINE * 0.55)
    size = max(6, round(font_px * SCRIPT_HEIGHT / height))
    style = f"FontName={font},FontSize={size},Outline=1.5,Shadow=0,MarginV=28,Alignment=2"
    return f"subtitles=filename={_filter_value(str(vtt))}:force_style={_filter_value(style)}"

"""Print the real-face corpus of tests/face_photos.py and draw a contact sheet of its crops.

.venv/bin/python bench/face_photos_survey.py --sheet /tmp/face_photos.png [--duplicates]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import face_photos  # noqa: E402

TILE = 160  # px, per crop on the sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sheet", type=Path, help="write a contact sheet PNG of all kept crops")
    parser.add_argument("--duplicates", action="store_true", help="dlib check of the naming")
    args = parser.parse_args()

    faces = face_photos.faces()
    by_source: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for face in faces:
        by_source[face.source.split(":")[0]][face.status] += 1
    print("faces per source (kept / group / unclear / small)")
    for source, counts in by_source.items():
        print(
            f"  {source:28} {counts['kept']:3} {counts['group']:3}"
            f" {counts['unclear']:3} {counts['small']:3}"
        )
    for face in faces:
        if face.status in ("group", "unclear"):
            print(f"  not kept ({face.status}): {face.key}")

    for split in face_photos.SPLITS:
        people = face_photos.people(split)
        photos = sum(len(p) for p in people.values())
        several = {k: len(v) for k, v in people.items() if len(v) > 1}
        print(f"{split}: {len(people)} people, {photos} photos, {len(several)} with 2+ photos")
        for person, count in sorted(several.items()):
            print(f"  {person}: {count}")
        print("  one photo:", ", ".join(k for k, v in people.items() if len(v) == 1))

    if args.duplicates:
        print("naming check (dlib distance; < 0.6 = same person):")
        for distance, a, b, verdict in face_photos.duplicates():
            print(f"  {verdict:10} {distance:.3f}  {a.key} [{a.person}]  {b.key} [{b.person}]")

    if args.sheet:
        write_sheet(args.sheet)
        print(f"contact sheet: {args.sheet}")


def write_sheet(path: Path) -> None:
    import cv2

    photos = face_photos.corpus()
    columns = 10
    rows = -(-len(photos) // columns)
    sheet = np.full((rows * (TILE + 28), columns * TILE, 3), 255, np.uint8)
    for i, photo in enumerate(photos):
        image = face_photos.load(photo).image
        scale = TILE / max(image.shape[:2])
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        top, left = (i // columns) * (TILE + 28), (i % columns) * TILE
        h, w = image.shape[:2]
        sheet[top : top + h, left : left + w] = image
        colour = (0, 110, 0) if photo.split == "tuning" else (160, 40, 0)
        for line, text in enumerate((photo.key.split("#")[0][-26:], photo.person[-26:])):
            cv2.putText(
                sheet,
                text,
                (left + 2, top + TILE + 11 + 12 * line),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.33,
                colour,
                1,
                cv2.LINE_AA,
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet)


if __name__ == "__main__":
    main()

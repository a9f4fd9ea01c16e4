"""Draw the add-in's icons (three people on Outlook blue) as PNGs; no imaging dependency."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

SIZES = (16, 32, 64, 80, 128)
BLUE = (15, 108, 189)  # Fluent 2 brand (communication blue) #0F6CBD
BACK = (166, 206, 241)  # the people behind, a lighter tint so the front one reads first
WHITE = (255, 255, 255)
SAMPLES = 4  # per axis: 16 samples per pixel smooth the edges at 16x16


def _in_round_rect(x: float, y: float, r: float) -> bool:
    cx, cy = min(max(x, r), 1 - r), min(max(y, r), 1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _person(x: float, y: float, cx: float, head: float, grow: float = 0.0) -> bool:
    """A head and rounded shoulders centred on cx; `grow` widens it to cut a gap around it."""
    head_y, body_y = 0.40, 0.40 + head * 3.1
    if (x - cx) ** 2 + (y - head_y) ** 2 <= (head + grow) ** 2:
        return True
    rx, ry = head * 2.0 + grow, head * 1.75 + grow
    return y <= 0.80 + grow and ((x - cx) / rx) ** 2 + ((y - body_y) / ry) ** 2 <= 1


def _colour(x: float, y: float) -> tuple[int, int, int] | None:
    if not _in_round_rect(x, y, 0.22):
        return None
    if _person(x, y, 0.5, 0.13):
        return WHITE
    if _person(x, y, 0.5, 0.13, grow=0.05):
        return BLUE  # the gap that separates the front person from the ones behind
    if _person(x, y, 0.25, 0.095) or _person(x, y, 0.75, 0.095):
        return BACK
    return BLUE


def pixels(size: int) -> bytes:
    rows = []
    for py in range(size):
        row = bytearray([0])  # PNG filter type 0 (none) for each scanline
        for px in range(size):
            r = g = b = a = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    c = _colour((px + (sx + 0.5) / SAMPLES) / size,
                                (py + (sy + 0.5) / SAMPLES) / size)
                    if c:
                        r, g, b, a = r + c[0], g + c[1], b + c[2], a + 1
            n = SAMPLES * SAMPLES
            row += bytes((r // a, g // a, b // a, 255 * a // n) if a else (0, 0, 0, 0))
        rows.append(bytes(row))
    return b"".join(rows)


def png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(pixels(size), 9)) + chunk(b"IEND", b""))


def main(folder: str = str(Path(__file__).resolve().parents[1] / "assets")) -> None:
    for size in SIZES:
        Path(folder, f"icon-{size}.png").write_bytes(png(size))


if __name__ == "__main__":
    main(*sys.argv[1:])

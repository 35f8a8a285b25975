#!/usr/bin/env python3
"""Draws the LifeOS app icons (PNG, no dependencies): a rounded square with a
check mark and a dot, in the app's colours. Run it to regenerate them."""
import math
import struct
import zlib

BG = (37, 99, 235)      # the app's accent blue
FG = (255, 255, 255)


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def draw(size, maskable):
    rows = []
    r = 0.0 if maskable else 0.22 * size
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            cx, cy = x + 0.5, y + 0.5
            # Rounded square coverage (anti-aliased by distance).
            qx = max(r - cx, 0, cx - (size - r))
            qy = max(r - cy, 0, cy - (size - r))
            d = math.hypot(qx, qy) - r if r else -1
            inside = max(0.0, min(1.0, 0.5 - d))
            u, v = cx / size, cy / size
            s = 0.8 if maskable else 1.0  # maskable icons keep a safe zone
            u, v = 0.5 + (u - 0.5) / s, 0.5 + (v - 0.5) / s
            stroke = 0.075
            dist = min(seg_dist(u, v, 0.28, 0.52, 0.43, 0.67), seg_dist(u, v, 0.43, 0.67, 0.74, 0.34))
            mark = max(0.0, min(1.0, (stroke - dist) * size / s + 0.5))
            dot = max(0.0, min(1.0, (0.055 - math.hypot(u - 0.74, v - 0.70)) * size / s + 0.5))
            fg = max(mark, dot)
            px = [round(BG[i] * (1 - fg) + FG[i] * fg) for i in range(3)]
            row += bytes(px + [round(255 * inside)])
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


for size, maskable, name in [(192, False, "icon-192.png"), (512, False, "icon-512.png"),
                             (512, True, "maskable-512.png"), (180, True, "apple-touch-icon.png")]:
    with open(name, "wb") as f:
        f.write(draw(size, maskable))

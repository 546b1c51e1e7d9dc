"""A human check the portal serves itself, no outside service: a few digits drawn as a noisy PNG, the
answer kept in the visitor's session (server-side) and good for one try within a few minutes.

Sign-in asks for it after a few wrong codes, so a script cannot run up a lock on a firm's sign-in.
The picture is drawn here (a 5×7 digit font, jitter, shear, noise and lines; PNG written with zlib), so the
project needs no imaging library.
"""

from __future__ import annotations

import secrets
import struct
import time
import zlib

SESSION_KEY = "portal.human_check"
DIGITS = "23456789"  # no 0/1, easily taken for O/I/l
LENGTH = 4
SECONDS = 300
SCALE = 5
WIDTH, HEIGHT = 150, 50

_FONT = {
    "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    "3": ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
    "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
}


def human_check_new(*, session) -> bytes:
    """A new check for this session (replacing any earlier one); returns its picture as PNG."""
    answer = "".join(secrets.choice(DIGITS) for _ in range(LENGTH))
    session[SESSION_KEY] = {"answer": answer, "expires": time.time() + SECONDS}
    return _picture(answer)


def human_check_pass(*, session, answer: str) -> bool:
    """Whether ``answer`` is this session's check, still fresh. A check is good for one try either way."""
    check = session.pop(SESSION_KEY, None)
    if not isinstance(check, dict) or time.time() > check.get("expires", 0):
        return False
    given = "".join(answer.split())[: LENGTH * 2]
    return secrets.compare_digest(given.encode(), str(check.get("answer", "")).encode())


def _picture(text: str) -> bytes:
    rand = secrets.SystemRandom()
    pixels = bytearray([rand.randint(225, 255) for _ in range(WIDTH * HEIGHT)])  # a light, grainy ground

    def dot(x: int, y: int, shade: int) -> None:
        if 0 <= x < WIDTH and 0 <= y < HEIGHT:
            pixels[y * WIDTH + x] = shade

    step = (WIDTH - 10) // len(text)
    for n, char in enumerate(text):
        left = 6 + n * step + rand.randint(-3, 3)
        top = rand.randint(2, HEIGHT - 7 * SCALE - 2)
        shear = rand.uniform(-0.15, 0.15)
        shade = rand.randint(0, 60)
        for row, bits in enumerate(_FONT[char]):
            for col, bit in enumerate(bits):
                if bit == "1":
                    x0 = left + col * SCALE + round(shear * (7 - row) * SCALE)
                    y0 = top + row * SCALE
                    for dy in range(SCALE):
                        for dx in range(SCALE):
                            if rand.random() > 0.03:  # a few holes in every stroke
                                dot(x0 + dx, y0 + dy, shade)
    for _ in range(3):  # lines across the digits
        x, y = rand.randrange(WIDTH // 4), rand.randrange(HEIGHT)
        x1, y1 = rand.randrange(3 * WIDTH // 4, WIDTH), rand.randrange(HEIGHT)
        shade = rand.randint(90, 170)
        for i in range(x1 - x + 1):
            dot(x + i, y + (y1 - y) * i // max(x1 - x, 1), shade)
    for _ in range(WIDTH * HEIGHT // 20):  # speckles
        dot(rand.randrange(WIDTH), rand.randrange(HEIGHT), rand.randint(60, 200))
    return _png(pixels)


def _png(pixels: bytearray) -> bytes:
    """An 8-bit greyscale PNG of WIDTH × HEIGHT pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(pixels[y * WIDTH : (y + 1) * WIDTH]) for y in range(HEIGHT))
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")

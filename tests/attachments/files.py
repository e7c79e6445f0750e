"""Real files for the attachment tests, made here: images by Pillow, PDFs by pypdf, audio by
hand (a WAV by the standard library, an MP3 as MPEG frames)."""

from __future__ import annotations

import io
import wave

from PIL import Image
from pypdf import PdfWriter


def png(width: int = 64, height: int = 48, colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def jpeg_with_location(width: int = 80, height: int = 60) -> bytes:
    """A JPEG whose EXIF holds a camera model and a GPS position (and says "rotate 90°")."""
    image = Image.new("RGB", (width, height), "orange")
    exif = Image.Exif()
    exif[0x0110] = "Secret Camera 3000"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def webp(width: int = 40, height: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 200, 30, 128)).save(out, "WEBP")
    return out.getvalue()


def gif_animation() -> bytes:
    frames = [Image.new("P", (30, 20), i * 40) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def pixel_bomb() -> bytes:
    """A small PNG whose header says 8,000 × 8,000 pixels (64 megapixels once decoded)."""
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG", optimize=True)
    return out.getvalue()


def pdf(pages: int = 3, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(b"\x00\x01" * int(rate * seconds))
    return out.getvalue()


def mp3(frames: int = 40) -> bytes:
    """MPEG-1 Layer III frames at 128 kbit/s, 44.1 kHz: 417 bytes each, 26 ms each."""
    header = bytes([0xFF, 0xFB, 0x90, 0x64])
    return (header + bytes(417 - len(header))) * frames


WINDOWS_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)

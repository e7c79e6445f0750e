"""What a file is, checked from its bytes: never from the name or the type the browser sent.

`inspect_upload(name, data)` returns what is stored — images decoded, verified and re-encoded
without their metadata (EXIF, GPS, comments), PDFs parsed for their page count, audio read for
its length, text decoded as UTF-8 — or raises `Refused` with a sentence for the person that
says what was wrong and what to do. Nothing here touches the database or the storage.
"""

from __future__ import annotations

import hashlib
import io
import logging
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from mutagen import MutagenError
from mutagen.mp3 import MP3
from mutagen.wave import WAVE
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

# pypdf logs every oddity of a damaged file at WARNING; a refusal says what matters.
logging.getLogger("pypdf").setLevel(logging.ERROR)

# Images are sent to models at most this many pixels on the longer side: every vision model
# scales larger ones down anyway (to 1,568-2,048 px), and each pixel beyond costs tokens.
MAX_IMAGE_SIDE = 2048
# Decoded pixels an image may claim. Above this it is a decompression bomb (a tiny file that
# decodes to gigabytes), refused before it is decoded.
MAX_IMAGE_PIXELS = 40_000_000
THUMBNAIL_SIDE = 320  # shown at 160 CSS pixels, sharp on high-density screens

IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jfif", ".webp", ".gif"}
AUDIO_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg"}
# Inlined into the message as text: prose, data and source code (and files with no suffix,
# such as Makefile or Dockerfile). Anything else must be one of the kinds above.
TEXT_SUFFIXES = frozenset(
    [
        ".txt",
        ".text",
        ".md",
        ".markdown",
        ".rst",
        ".adoc",
        ".org",
        ".tex",
        ".csv",
        ".tsv",
        ".json",
        ".jsonl",
        ".ndjson",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".env",
        ".properties",
        ".xml",
        ".html",
        ".htm",
        ".css",
        ".scss",
        ".sass",
        ".less",
        ".log",
        ".diff",
        ".patch",
        ".sql",
        ".graphql",
        ".gql",
        ".proto",
        ".py",
        ".pyi",
        ".ipynb",
        ".rb",
        ".php",
        ".pl",
        ".pm",
        ".lua",
        ".r",
        ".jl",
        ".js",
        ".mjs",
        ".cjs",
        ".jsx",
        ".ts",
        ".tsx",
        ".vue",
        ".svelte",
        ".java",
        ".kt",
        ".kts",
        ".scala",
        ".groovy",
        ".gradle",
        ".go",
        ".rs",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".cxx",
        ".hpp",
        ".hh",
        ".m",
        ".mm",
        ".swift",
        ".cs",
        ".fs",
        ".vb",
        ".dart",
        ".ex",
        ".exs",
        ".erl",
        ".hs",
        ".ml",
        ".clj",
        ".elm",
        ".zig",
        ".nim",
        ".sh",
        ".bash",
        ".zsh",
        ".fish",
        ".ps1",
        ".bat",
        ".cmd",
        ".dockerfile",
        ".makefile",
        ".cmake",
        ".tf",
        ".hcl",
        ".nix",
        ".vim",
        ".srt",
        ".vtt",
    ]
)
ACCEPTED = "images (PNG, JPEG, WebP, GIF), PDFs, audio (WAV, MP3), and text or source-code files"


class Refused(Exception):
    """A file that is not stored; the text is the sentence the person reads."""


@dataclass(frozen=True)
class Inspected:
    name: str  # as shown to the person (cleaned of paths and control characters)
    kind: str  # Attachment.Kind
    content_type: str  # of `data`
    suffix: str  # of the stored file
    data: bytes  # what is stored and sent upstream
    sha256: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    duration: float | None = None
    thumbnail: bytes | None = None  # WebP, images only


def inspect_upload(name: str, data: bytes) -> Inspected:
    """Check `data` (a file called `name`) and return what to store, or raise Refused."""
    name = clean_name(name)
    suffix = PurePosixPath(name).suffix.lower()
    if not data:
        raise Refused(f"“{name}” is empty, so there is nothing to attach.")
    if suffix == ".svg" or _looks_like_svg(data):
        raise Refused(
            f"“{name}” is an SVG image. SVG files can carry scripts, so they are not accepted: "
            "export it as PNG and attach that."
        )
    if suffix in IMAGE_SUFFIXES:
        return _image(name, data)
    if suffix == ".pdf":
        return _pdf(name, data)
    if suffix in AUDIO_TYPES:
        return _audio(name, suffix, data)
    if suffix in TEXT_SUFFIXES or not suffix:
        return _text(name, suffix, data)
    found = _what_it_is(data)
    really = f" (its contents are {found})" if found else ""
    raise Refused(
        f"“{name}” can’t be attached: {suffix} files are not accepted{really}. "
        f"You can attach {ACCEPTED}."
    )


def clean_name(name: str) -> str:
    """The file's own name: no folders, no control characters, at most 200 characters."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip(" .")
    if len(base) > 200:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[:190] + dot + suffix[:9]) if dot and len(suffix) <= 9 else base[:200]
    return base or "file"


# --- images ------------------------------------------------------------------------------------


def _image(name: str, data: bytes) -> Inspected:
    not_an_image = _not_what_it_says(name, data, "a PNG, JPEG, WebP or GIF image")
    try:
        with warnings.catch_warnings():
            # Pillow warns (then fails) on images past its own pixel limit: a bomb either way.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(IMAGE_TYPES)) as probe:
                width, height = probe.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise _bomb(name, width, height)
                probe.verify()  # the structure and checksums, before anything is decoded
            with Image.open(io.BytesIO(data), formats=list(IMAGE_TYPES)) as image:
                image_format = image.format or ""
                image.seek(0)  # an animation is sent as its first frame
                image.load()
                upright = ImageOps.exif_transpose(image)
                stored, content_type, suffix = _reencode(upright, image_format)
                thumbnail = _thumbnail(upright)
                width, height = _size_of(stored)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(name, None, None) from None
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError, EOFError):
        raise not_an_image from None
    return Inspected(
        name=name,
        kind="image",
        content_type=content_type,
        suffix=suffix,
        data=stored,
        sha256=hashlib.sha256(stored).hexdigest(),
        width=width,
        height=height,
        thumbnail=thumbnail,
    )


def _reencode(image: Image.Image, image_format: str) -> tuple[bytes, str, str]:
    """The image again, without metadata, at most MAX_IMAGE_SIDE: PNG and GIF as PNG, JPEG as
    JPEG, WebP as WebP (every provider takes PNG; few take an animated GIF)."""
    if max(image.size) > MAX_IMAGE_SIDE:
        image = image.copy()
        image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    icc = image.info.get("icc_profile")  # colours, not personal data: kept
    extra = {"icc_profile": icc} if icc else {}
    if image_format == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, optimize=True, **extra)
        return out.getvalue(), "image/jpeg", ".jpg"
    if image_format == "WEBP":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, "WEBP", quality=90, **extra)
        return out.getvalue(), "image/webp", ".webp"
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA")
    image.save(out, "PNG", **extra)
    return out.getvalue(), "image/png", ".png"


def _thumbnail(image: Image.Image) -> bytes:
    small = image.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    if small.mode not in ("RGB", "RGBA"):
        small = small.convert("RGBA")
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80)
    return out.getvalue()


def _size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def _bomb(name: str, width: int | None, height: int | None) -> Refused:
    claimed = f" claims {width:,} × {height:,} pixels and" if width and height else ""
    return Refused(
        f"“{name}”{claimed} would take far more memory to open than an image should "
        f"(the limit is {MAX_IMAGE_PIXELS // 1_000_000} megapixels). "
        "Scale it down and attach it again."
    )


# --- PDFs --------------------------------------------------------------------------------------


def _pdf(name: str, data: bytes) -> Inspected:
    if not data.startswith(b"%PDF-"):
        raise _not_what_it_says(name, data, "a PDF (a PDF starts with “%PDF-”)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise Refused(
                f"“{name}” is protected by a password, so no model can read it. "
                "Save a copy without the password and attach that."
            )
        pages = len(reader.pages)
    except Refused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError):
        raise Refused(
            f"“{name}” starts like a PDF but could not be read: it is damaged or incomplete. "
            "Open it and save or export it again as PDF, then attach the new copy."
        ) from None
    if pages < 1:
        raise Refused(f"“{name}” is a PDF with no pages, so there is nothing to read.")
    return Inspected(
        name=name,
        kind="pdf",
        content_type="application/pdf",
        suffix=".pdf",
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        pages=pages,
    )


# --- audio -------------------------------------------------------------------------------------


def _audio(name: str, suffix: str, data: bytes) -> Inspected:
    if suffix == ".wav":
        looks_right = data[:4] == b"RIFF" and data[8:12] == b"WAVE"
        expected = "a WAV recording"
    else:
        # An MP3 starts with an ID3 tag or with an MPEG audio frame's 11 sync bits.
        looks_right = data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] >= 0xE0)
        expected = "an MP3 recording"
    if not looks_right:
        raise _not_what_it_says(name, data, expected)
    try:
        reader = WAVE if suffix == ".wav" else MP3
        audio = reader(io.BytesIO(data))
        duration = float(audio.info.length if audio.info else 0)
    except (MutagenError, ValueError, KeyError, IndexError, EOFError, OSError):
        duration = 0.0
    if not duration > 0:
        raise Refused(
            f"“{name}” looks like {expected} but holds no audio that could be played: it is "
            "damaged or empty. Export it again and attach the new copy."
        )
    return Inspected(
        name=name,
        kind="audio",
        content_type=AUDIO_TYPES[suffix],
        suffix=suffix,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        duration=round(duration, 2),
    )


# --- text --------------------------------------------------------------------------------------


def _text(name: str, suffix: str, data: bytes) -> Inspected:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        if _what_it_is(data):
            raise _not_what_it_says(name, data, "a text file")
        raise Refused(
            f"“{name}” is not UTF-8 text (it may be binary, or in another encoding). "
            "Save it as UTF-8 text and attach it again."
        )
    stored = text.encode("utf-8")
    return Inspected(
        name=name,
        kind="text",
        content_type="text/plain; charset=utf-8",
        suffix=suffix if suffix else ".txt",
        data=stored,
        sha256=hashlib.sha256(stored).hexdigest(),
    )


# --- what a file really is ---------------------------------------------------------------------

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"ID3", "an MP3 recording"),
    (b"OggS", "an Ogg recording"),
    (b"fLaC", "a FLAC recording"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
)


def _what_it_is(data: bytes) -> str | None:
    """Name what `data` is by its signature, for a refusal's sentence (None: unknown)."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            return what
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "a WAV recording"
    if data[4:8] == b"ftyp":
        return "an MP4 video or audio file"
    return None


def _not_what_it_says(name: str, data: bytes, expected: str) -> Refused:
    found = _what_it_is(data)
    really = f": its contents are {found}" if found else ""
    return Refused(
        f"“{name}” is not {expected}{really}, so it was not attached. "
        "Attach the file itself, not a renamed one."
    )


def _looks_like_svg(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head)

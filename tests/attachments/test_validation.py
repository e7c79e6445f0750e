"""What a file is, checked from its bytes (chatapp/attachments/validation.py): every branch."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chatapp.attachments.validation import MAX_IMAGE_SIDE, Refused, clean_name, inspect_upload
from tests.attachments import files


def refusal(name: str, data: bytes) -> str:
    with pytest.raises(Refused) as refused:
        inspect_upload(name, data)
    return str(refused.value)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- images ------------------------------------------------------------------------------------


def test_a_png_is_stored_as_a_png_with_its_size_and_a_webp_thumbnail():
    found = inspect_upload("chart.png", files.png(64, 48))
    assert (found.kind, found.content_type, found.suffix) == ("image", "image/png", ".png")
    assert (found.width, found.height) == (64, 48)
    assert decoded(found.data).format == "PNG"
    assert found.thumbnail is not None
    assert decoded(found.thumbnail).format == "WEBP"


def test_a_jpeg_loses_its_exif_camera_and_gps_and_is_turned_upright():
    original = files.jpeg_with_location(80, 60)
    assert decoded(original).getexif()  # the test file does carry EXIF
    found = inspect_upload("holiday.jpg", original)
    image = decoded(found.data)
    assert found.content_type == "image/jpeg"
    assert not image.getexif()
    assert b"Secret Camera" not in found.data
    assert (found.width, found.height) == (60, 80)  # the orientation was applied, then dropped


def test_a_webp_stays_a_webp():
    found = inspect_upload("sticker.webp", files.webp())
    assert found.content_type == "image/webp"
    assert decoded(found.data).format == "WEBP"


def test_an_animated_gif_is_sent_as_its_first_frame_in_png():
    found = inspect_upload("party.gif", files.gif_animation())
    assert found.content_type == "image/png"
    assert getattr(decoded(found.data), "n_frames", 1) == 1


def test_a_large_image_is_scaled_down_to_the_longest_side_models_use():
    found = inspect_upload("scan.png", files.png(4000, 1000))
    assert (found.width, found.height) == (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE // 4)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    text = refusal("tiny.png", files.pixel_bomb())
    assert "8,000 × 8,000 pixels" in text
    assert "40 megapixels" in text


def test_a_program_renamed_png_is_refused_and_named_for_what_it_is():
    text = refusal("cat.png", files.WINDOWS_PROGRAM)
    assert "“cat.png” is not a PNG, JPEG, WebP or GIF image" in text
    assert "a Windows program" in text


def test_a_truncated_png_is_refused():
    assert "is not a PNG, JPEG, WebP or GIF image" in refusal("half.png", files.png()[:60])


@pytest.mark.parametrize("name", ["logo.svg", "logo.png", "notes.txt"])
def test_an_svg_is_refused_whatever_its_name_says(name):
    assert "SVG files can carry scripts" in refusal(name, files.SVG)


# --- PDFs --------------------------------------------------------------------------------------


def test_a_pdf_is_kept_as_it_is_with_its_page_count():
    data = files.pdf(pages=3)
    found = inspect_upload("report.pdf", data)
    assert (found.kind, found.content_type, found.pages) == ("pdf", "application/pdf", 3)
    assert found.data == data


def test_a_pdf_with_a_wrong_signature_is_refused():
    text = refusal("report.pdf", b"%PFD-1.4\n" + files.pdf()[9:])
    assert "is not a PDF" in text
    assert "%PDF-" in text


def test_a_damaged_pdf_is_refused():
    assert "could not be read" in refusal("report.pdf", b"%PDF-1.7\nthis is not a PDF body")


def test_a_password_protected_pdf_is_refused_with_what_to_do():
    assert "protected by a password" in refusal("locked.pdf", files.pdf(1, password="s3cret"))


# --- audio -------------------------------------------------------------------------------------


def test_a_wav_is_stored_with_its_length():
    found = inspect_upload("memo.wav", files.wav(seconds=1.5))
    assert (found.kind, found.content_type, found.duration) == ("audio", "audio/wav", 1.5)


def test_an_mp3_is_stored_with_its_length():
    found = inspect_upload("song.mp3", files.mp3(frames=40))
    assert found.content_type == "audio/mpeg"
    assert found.duration == pytest.approx(1.04, abs=0.05)


def test_a_wav_header_with_no_audio_is_refused():
    assert "holds no audio" in refusal("memo.wav", b"RIFF\x00\x00\x00\x00WAVEfmt ")


def test_a_pdf_renamed_mp3_is_refused():
    assert "its contents are a PDF" in refusal("song.mp3", files.pdf())


# --- text --------------------------------------------------------------------------------------


def test_a_source_file_is_text_without_its_byte_order_mark():
    found = inspect_upload("main.py", "\ufeffprint('hé')\n".encode())
    assert (found.kind, found.suffix, found.data) == ("text", ".py", "print('hé')\n".encode())


def test_a_file_without_a_suffix_is_read_as_text():
    assert inspect_upload("Makefile", b"all:\n\techo hi\n").kind == "text"


def test_text_that_is_not_utf8_is_refused_with_what_to_do():
    assert "Save it as UTF-8" in refusal("notes.txt", "café".encode("latin-1"))


def test_a_program_renamed_txt_is_refused():
    assert "a Windows program" in refusal("notes.txt", files.WINDOWS_PROGRAM)


# --- anything else -----------------------------------------------------------------------------


def test_an_unknown_type_is_refused_with_the_list_of_what_is_accepted():
    text = refusal("setup.exe", files.WINDOWS_PROGRAM)
    assert ".exe files are not accepted" in text
    assert "PNG, JPEG, WebP, GIF" in text


def test_an_empty_file_is_refused():
    assert "is empty" in refusal("empty.txt", b"")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("bad\x00na\nme.txt", "badname.txt"),
        ("", "file"),
        ("a" * 300 + ".txt", "a" * 190 + ".txt"),
    ],
)
def test_a_name_keeps_only_the_file_itself(given, kept):
    assert clean_name(given) == kept

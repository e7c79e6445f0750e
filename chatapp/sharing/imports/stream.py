"""Read a large JSON export one conversation at a time, in bounded memory.

Exports are either a JSON array of conversations (ChatGPT, Open WebUI) or an object whose
"conversations" member is that array (ours). `iter_document` yields the object's other members
as ("meta", key, value) and each array item as ("item", index, value), decoding one item at a
time with the standard library's json decoder, so a 100 MB file never sits in memory whole.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterator
from typing import IO, Any

from chatapp.sharing.imports.records import FormatError

CHUNK = 1 << 20
ITEMS_KEY = "conversations"
_WHITESPACE = " \t\n\r"

Event = tuple[str, Any, Any]


class _Reader:
    """A text window over a binary stream that grows only while a value is incomplete."""

    def __init__(self, stream: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.consumed = 0
        self.on_bytes = on_bytes

    def more(self, size: int = 0) -> bool:
        if self.eof:
            return False
        data = self.stream.read(size or CHUNK)
        self.consumed += len(data)
        self.on_bytes(self.consumed)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise FormatError(
                "The file is not UTF-8 text, so it cannot be a JSON export."
            ) from None
        self.buffer = self.buffer[self.pos :] + text
        self.pos = 0
        self.eof = not data
        return True

    def peek(self) -> str:
        """Return the next character that is not whitespace ("" at the end of the file)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer) or not self.more():
                return self.buffer[self.pos : self.pos + 1]

    def expect(self, char: str, where: str) -> None:
        if self.peek() != char:
            raise _malformed(self, f"expected “{char}” {where}")
        self.pos += 1

    def value(self, where: str) -> Any:
        """Decode the next JSON value, reading on (in ever larger steps) while it is cut off."""
        self.peek()
        size = CHUNK
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                if not _cut_off(self.buffer, error) or not self.more(size):
                    raise _decode_failure(self, error, where) from None
                size *= 2
                continue
            # A number or literal at the very end of the window may go on in the next chunk.
            if end == len(self.buffer) and not self.eof and self.more(size):
                continue
            self.pos = end
            return value


_DECODER = json.JSONDecoder()


def _cut_off(buffer: str, error: json.JSONDecodeError) -> bool:
    """Whether the error is the end of the window rather than a mistake in the text."""
    # An unterminated string is reported where it starts; everything else where it stops.
    return error.msg.startswith("Unterminated string") or error.pos >= len(buffer) - 6


def _malformed(reader: _Reader, what: str) -> FormatError:
    if reader.eof and reader.pos >= len(reader.buffer):
        return FormatError(
            f"The file ends too early ({what}): it looks cut off. Download the export again."
        )
    return FormatError(f"The file is not valid JSON: {what}, near byte {_byte(reader)}.")


def _decode_failure(reader: _Reader, error: json.JSONDecodeError, where: str) -> FormatError:
    if reader.eof and _cut_off(reader.buffer, error):
        return FormatError(
            f"The file ends in the middle of {where}: it looks cut off. Download the export again."
        )
    return FormatError(f"The file is not valid JSON: {error.msg.lower()} in {where}.")


def _byte(reader: _Reader) -> int:
    unread = len(reader.buffer[reader.pos :].encode())
    return max(0, reader.consumed - unread)


def iter_document(stream: IO[bytes], on_bytes: Callable[[int], None]) -> Iterator[Event]:
    reader = _Reader(stream, on_bytes)
    first = reader.peek()
    if first == "[":
        yield from _items(reader)
    elif first == "{":
        yield from _members(reader)
    elif first == "":
        raise FormatError("The file is empty.")
    else:
        raise FormatError(
            "This is not a JSON export: it should start with “[” or “{”. Upload the "
            "conversations.json from a ChatGPT export, an Open WebUI export, or a chatapp export."
        )
    if reader.peek() != "":
        raise _malformed(reader, "unexpected text after the end of the export")


def _items(reader: _Reader) -> Iterator[Event]:
    reader.expect("[", "at the start of the list of conversations")
    if reader.peek() == "]":
        reader.pos += 1
        return
    index = 0
    while True:
        index += 1
        yield ("item", index, reader.value(f"conversation {index}"))
        if reader.peek() == "]":
            reader.pos += 1
            return
        reader.expect(",", f"after conversation {index}")


def _members(reader: _Reader) -> Iterator[Event]:
    reader.expect("{", "at the start of the export")
    while reader.peek() != "}":
        key = reader.value("a member name")
        if not isinstance(key, str):
            raise _malformed(reader, "a member name must be a string")
        reader.expect(":", f"after “{key}”")
        if key == ITEMS_KEY and reader.peek() == "[":
            yield from _items(reader)
        else:
            yield ("meta", key, reader.value(f"“{key}”"))
        if reader.peek() == ",":
            reader.pos += 1
        elif reader.peek() != "}":
            raise _malformed(reader, f"expected “,” or “}}” after “{key}”")
    reader.pos += 1

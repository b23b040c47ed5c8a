"""What kind of bytes a file holds, and a text view of them that the rules run on.

Policy (see the package docstring): data with a NUL byte in its first 8 KiB is
binary and is not scanned, except two kinds of text that hold NUL bytes and
matter for secrets:

- UTF-16 text (a BOM, or BOM-less with every other byte NUL): what Windows
  PowerShell 5 writes with `>`; decoded, scanned, and re-encoded after redaction.
- NUL-separated text (`/proc/PID/environ`, `find -print0`, `xargs -0` lists): no
  control byte other than NUL and the usual white space; each NUL is read as a
  line break for matching and is written back as a NUL.

Anything else with a NUL is binary: inserting placeholders would corrupt it, so
it is reported as unscanned and the caller decides.
"""

from __future__ import annotations

import codecs
import enum
import re
from dataclasses import dataclass

HEAD_BYTES = 8192
_CONTROL = re.compile(rb"[\x01-\x06\x0e-\x1a\x1c-\x1f\x7f]")  # not \t \n \v \f \r, BEL, BS, ESC
_SEPARATOR = re.compile(rb"[\n\x00]")


class Form(enum.Enum):
    TEXT = "text"
    NUL_SEPARATED = "nul-separated"
    UTF16_LE = "utf-16-le"
    UTF16_BE = "utf-16-be"
    BINARY = "binary"


def classify(data: bytes) -> Form:
    """The form of `data`, judged on its first HEAD_BYTES bytes."""
    head = data[:HEAD_BYTES]
    if b"\x00" not in head:
        return Form.TEXT
    utf16 = _utf16_form(head)
    if utf16 is not None:
        return utf16
    if not _CONTROL.search(head) and b"\x00\x00\x00" not in head:
        return Form.NUL_SEPARATED
    return Form.BINARY


def _utf16_form(head: bytes) -> Form | None:
    """UTF-16 by its BOM, or without one when (nearly) every other byte is NUL: ASCII in UTF-16."""
    if head.startswith(codecs.BOM_UTF16_LE) and not head.startswith(codecs.BOM_UTF32_LE):
        return Form.UTF16_LE
    if head.startswith(codecs.BOM_UTF16_BE):
        return Form.UTF16_BE
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.05 * len(even):
        return Form.UTF16_LE
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.05 * len(odd):
        return Form.UTF16_BE
    return None


@dataclass(frozen=True)
class TextView:
    """`view` is what the rules see; offsets and edits map back to `data`."""

    form: Form
    data: bytes
    view: bytes

    @classmethod
    def of(cls, data: bytes, form: Form | None = None) -> TextView | None:
        """The view of `data`, or None for binary (or undecodable UTF-16) data."""
        form = form or classify(data)
        if form is Form.TEXT:
            return cls(form, data, data)
        if form is Form.NUL_SEPARATED:
            return cls(form, data, data.replace(b"\x00", b"\n"))
        if form in (Form.UTF16_LE, Form.UTF16_BE):
            try:
                text = data[_bom_length(data, form):].decode(form.value)
            except UnicodeDecodeError:
                return None
            return cls(form, data, text.encode("utf-8", "surrogatepass"))
        return None

    def data_offset(self, offset: int) -> int:
        """The offset in `data` of `offset` in `view`."""
        if self.form in (Form.TEXT, Form.NUL_SEPARATED):
            return offset
        prefix = self.view[:offset].decode("utf-8", "surrogatepass")
        return _bom_length(self.data, self.form) + len(prefix.encode(self.form.value, "surrogatepass"))

    @property
    def line_text(self) -> bytes:
        """The bytes whose newlines number the lines (NULs are not line breaks in a finding's line)."""
        return self.data if self.form is Form.NUL_SEPARATED else self.view

    def encode(self, new_view: bytes) -> bytes:
        """`new_view` (the view after redaction or restore) in the data's own form."""
        if self.form is Form.TEXT:
            return new_view
        if self.form is Form.NUL_SEPARATED:
            separators = [m.group() for m in _SEPARATOR.finditer(self.data)]
            parts = new_view.split(b"\n")
            out = [parts[0]]
            for i, part in enumerate(parts[1:]):
                out.append(separators[i] if i < len(separators) else b"\n")
                out.append(part)
            return b"".join(out)
        bom = self.data[:_bom_length(self.data, self.form)]
        return bom + new_view.decode("utf-8", "surrogatepass").encode(self.form.value, "surrogatepass")


def _bom_length(data: bytes, form: Form) -> int:
    bom = codecs.BOM_UTF16_LE if form is Form.UTF16_LE else codecs.BOM_UTF16_BE
    return len(bom) if data.startswith(bom) else 0

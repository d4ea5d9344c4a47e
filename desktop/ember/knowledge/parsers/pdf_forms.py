"""What was typed into a PDF form that was never flattened: one "Label: value" line per field.

A form filled in and saved by a viewer (Preview, Acrobat "Save") keeps the values in its fields
(``/V``) and their widget annotations' appearance streams, not in the page's content, so the page
text has only the blank form. Each filled field becomes a line on the page of its widget, e.g.
``Applicant name: Velmora Quistrand``. The label is the field's alternate name (``/TU``, what a
viewer shows as its tooltip) or else its own name made readable (``applicant_name`` -> "Applicant
name"). A ticked checkbox or the chosen radio button gives its on-state name (``Agree: Yes``,
``Shipping: Express``); list and combo boxes their chosen entries. Empty fields, unticked boxes,
push buttons, signatures, hidden widgets and password fields are left out. Values are untrusted
text: cleaned like page text and cut to :data:`MAX_VALUE_CHARS`.

Bounds, since a crafted form can hold 100,000 widgets: at most :data:`MAX_ANNOTATIONS` annotations
are looked at and :data:`MAX_FIELDS` fields read per document, with a note saying what was left.
PDFium's form API (full names and values inherited from parent fields) builds a tree of all the
document's fields whose cost grows with the square of their number (100,000 take minutes), so it
is used only when the pages carry at most :data:`FORM_API_MAX_WIDGETS` widgets; past that each
widget's own dictionary is read (``/T``, ``/TU``, ``/V``, ``/AS``).
"""

from __future__ import annotations

import ctypes
import re
from typing import Any

from ember.knowledge.parsers.base import clean_text

MAX_ANNOTATIONS = 20_000  # annotations examined per document (links and notes included)
MAX_FIELDS = 2_000  # field lines per document
FORM_API_MAX_WIDGETS = 5_000  # PDFium builds its field tree in about 0.1 s for this many
MAX_VALUE_CHARS = 4_000
MAX_LABEL_CHARS = 200
MAX_STRING_BYTES = 1_000_000  # longer strings are not even copied out of PDFium
MAX_OPTIONS = 500  # list box entries looked at

# PDF annotation flags (PDF 32000-1, 12.5.3) and field flags (12.7.3.1, 12.7.4.2-4).
_HIDDEN, _NO_VIEW = 1 << 1, 1 << 5
_PASSWORD, _RADIO, _PUSH_BUTTON = 1 << 13, 1 << 15, 1 << 16
_COMBO = 1 << 17
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_INDEX = re.compile(r"\[\d+\]$")  # "name[0]", the way XFA-born forms number their fields
_SEPARATORS = re.compile(r"[\s_\-.]+")


class FormReader:
    """Collects the widgets of each page while the text is read, then reads their fields.

    ``scan`` each loaded page, then call ``read`` once, before the document is closed.
    """

    def __init__(self, pdf: Any) -> None:
        import pypdfium2.raw as pdfium_c

        self._c = pdfium_c
        self._pdf = pdf
        self._widgets: dict[int, list[int]] = {}  # page index -> annotation indexes of widgets
        self._examined = 0
        self._unexamined = 0  # annotations past MAX_ANNOTATIONS

    def scan(self, page: Any, index: int) -> None:
        """Note the widget annotations of ``page`` (page number ``index``, 0-based)."""
        c = self._c
        count = max(c.FPDFPage_GetAnnotCount(page), 0)
        room = max(MAX_ANNOTATIONS - self._examined, 0)
        self._unexamined += max(count - room, 0)
        for number in range(min(count, room)):
            annot = c.FPDFPage_GetAnnot(page, number)
            if not annot:
                continue
            try:
                if c.FPDFAnnot_GetSubtype(annot) == c.FPDF_ANNOT_WIDGET:
                    self._widgets.setdefault(index, []).append(number)
            finally:
                c.FPDFPage_CloseAnnot(annot)
        self._examined += min(count, room)

    def read(self) -> tuple[dict[int, list[str]], list[str]]:
        """``({page index: ["Label: value", ...]}, notes)`` for the pages scanned."""
        from pypdfium2 import PdfiumError

        c, pdf = self._c, self._pdf
        widgets = sum(len(found) for found in self._widgets.values())
        form_type = c.FPDF_GetFormType(pdf)
        notes: list[str] = []
        if not widgets:
            if form_type == c.FORMTYPE_XFA_FULL:
                notes.append("this PDF is an XFA form: Ember cannot read what was typed into it")
            return {}, notes
        handle = None
        if widgets <= FORM_API_MAX_WIDGETS and form_type != c.FORMTYPE_NONE:
            config = c.FPDF_FORMFILLINFO(version=2)
            handle = c.FPDFDOC_InitFormFillEnvironment(pdf, config) or None
        fields = _Fields(c, handle)
        lines: dict[int, list[str]] = {}
        try:
            for index in sorted(self._widgets):
                try:
                    found = fields.read_page(pdf, index, self._widgets[index])
                except PdfiumError:  # the page loaded for its text, but not a second time
                    continue
                if found:
                    lines[index] = found
                if fields.read >= MAX_FIELDS:
                    break
        finally:
            if handle:
                c.FPDFDOC_ExitFormFillEnvironment(handle)
        left = widgets - fields.looked_at
        if left > 0:
            notes.append(
                f"this PDF has {left:,} more form fields that were not read"
                f" (Ember reads at most {MAX_FIELDS:,} per PDF)"
            )
        if self._unexamined:
            notes.append(
                f"this PDF has {self._unexamined:,} more annotations that were not checked for"
                f" form fields (Ember looks at most at {MAX_ANNOTATIONS:,} per PDF)"
            )
        if fields.too_long:
            notes.append(f"{fields.too_long} form field values were too long to read")
        return lines, notes


class _Fields:
    """Reads widgets' fields through PDFium's form API (``handle``) or their own dictionaries."""

    def __init__(self, pdfium_c: Any, handle: Any) -> None:
        self._c = pdfium_c
        self._handle = handle
        self._seen: set[tuple[str, str]] = set()
        self.read = 0  # lines produced
        self.looked_at = 0  # widgets examined
        self.too_long = 0

    def read_page(self, pdf: Any, index: int, numbers: list[int]) -> list[str]:
        c = self._c
        page = pdf[index]
        found: list[tuple[float, float, str]] = []
        try:
            for number in numbers:
                if self.read >= MAX_FIELDS:
                    break
                self.looked_at += 1
                annot = c.FPDFPage_GetAnnot(page, number)
                if not annot:
                    continue
                try:
                    line = self._line(annot)
                    if line:
                        found.append((*self._position(annot), line))
                        self.read += 1
                finally:
                    c.FPDFPage_CloseAnnot(annot)
        finally:
            page.close()
        found.sort(key=lambda item: (item[0], item[1]))
        return [line for _, _, line in found]

    def _position(self, annot: Any) -> tuple[float, float]:
        """Sort key: top to bottom, then left to right."""
        rect = self._c.FS_RECTF()
        if not self._c.FPDFAnnot_GetRect(annot, rect):
            return (0.0, 0.0)
        return (-max(rect.top, rect.bottom), min(rect.left, rect.right))

    def _line(self, annot: Any) -> str | None:
        c, handle = self._c, self._handle
        if c.FPDFAnnot_GetFlags(annot) & (_HIDDEN | _NO_VIEW):
            return None
        kind = c.FPDFAnnot_GetFormFieldType(handle, annot) if handle else -1
        if kind > 0:
            name = self._text(c.FPDFAnnot_GetFormFieldName, handle, annot)
            label = self._text(c.FPDFAnnot_GetFormFieldAlternateName, handle, annot)
            flags = c.FPDFAnnot_GetFormFieldFlags(handle, annot)
        else:  # no form API, or the field is missing from the form: the widget's own entries
            name = self._entry(annot, b"T")
            label = self._entry(annot, b"TU")
            flags = self._number(annot, b"Ff")
            kind = self._kind(self._entry(annot, b"FT"), flags)
        value = self._value(annot, kind, flags)
        if value is None:
            return None
        value = clean_text(value)[:MAX_VALUE_CHARS].strip()
        label = _readable(label or "", name or "")
        key = (name or label, value)
        if not value or key in self._seen:
            return None
        self._seen.add(key)
        return f"{label}: {value}"

    def _kind(self, field_type: str | None, flags: int) -> int:
        c = self._c
        if field_type == "Tx":
            return c.FPDF_FORMFIELD_TEXTFIELD
        if field_type == "Ch":
            return c.FPDF_FORMFIELD_COMBOBOX if flags & _COMBO else c.FPDF_FORMFIELD_LISTBOX
        if field_type == "Btn" or field_type is None:  # a kid widget inherits its type
            if flags & _PUSH_BUTTON:
                return c.FPDF_FORMFIELD_PUSHBUTTON
            return c.FPDF_FORMFIELD_RADIOBUTTON if flags & _RADIO else c.FPDF_FORMFIELD_CHECKBOX
        return c.FPDF_FORMFIELD_UNKNOWN

    def _value(self, annot: Any, kind: int, flags: int) -> str | None:
        c, handle = self._c, self._handle
        if kind == c.FPDF_FORMFIELD_TEXTFIELD:
            if flags & _PASSWORD:
                return None
            return self._field_value(annot)
        if kind in (c.FPDF_FORMFIELD_CHECKBOX, c.FPDF_FORMFIELD_RADIOBUTTON):
            # The widget's appearance state is the ticked button's own name; "Off" is unticked.
            state = self._entry(annot, b"AS")
            if state is None and kind == c.FPDF_FORMFIELD_CHECKBOX:
                state = self._field_value(annot)
            return state if state and state != "Off" else None
        if kind in (c.FPDF_FORMFIELD_COMBOBOX, c.FPDF_FORMFIELD_LISTBOX):
            chosen = []
            count = c.FPDFAnnot_GetOptionCount(handle, annot) if handle else -1
            for option in range(min(max(count, 0), MAX_OPTIONS)):
                if c.FPDFAnnot_IsOptionSelected(handle, annot, option):
                    chosen.append(self._text(c.FPDFAnnot_GetOptionLabel, handle, annot, option))
            return ", ".join(o for o in chosen if o) or self._field_value(annot)
        return None  # push buttons, signatures, unknown kinds

    def _field_value(self, annot: Any) -> str | None:
        if self._handle:
            value = self._text(self._c.FPDFAnnot_GetFormFieldValue, self._handle, annot)
            if value:
                return value
        return self._entry(annot, b"V")

    def _entry(self, annot: Any, key: bytes) -> str | None:
        """A string or name entry of the widget's own dictionary, or None if it has none."""
        if not self._c.FPDFAnnot_HasKey(annot, key):
            return None
        return self._text(self._c.FPDFAnnot_GetStringValue, annot, key)

    def _number(self, annot: Any, key: bytes) -> int:
        number = ctypes.c_float()
        if not self._c.FPDFAnnot_GetNumberValue(annot, key, number):
            return 0
        return int(number.value) if abs(number.value) < 2**31 else 0

    def _text(self, function: Any, *args: Any) -> str:
        """A UTF-16 string out of one of PDFium's ``(…, buffer, length)`` getters."""
        size = function(*args, None, 0)
        if size <= 2:
            return ""
        if size > MAX_STRING_BYTES:
            self.too_long += 1
            return ""
        buffer = (ctypes.c_ushort * ((size + 1) // 2))()
        function(*args, buffer, size)
        data = bytes(memoryview(buffer).cast("B")[: size - 2])
        return data.decode("utf-16-le", errors="replace")


def _readable(label: str, name: str) -> str:
    """The field's label: its alternate name, else the last part of its name in words."""
    text = " ".join(clean_text(label).split())
    if not text:
        part = _INDEX.sub("", name.rsplit(".", 1)[-1]) or name
        words = _SEPARATORS.split(_CAMEL.sub(" ", part).strip())
        words = [w if w.isupper() and len(w) > 1 else w.lower() for w in words if w]
        text = " ".join(clean_text(" ".join(words)).split())
        text = text[:1].upper() + text[1:]
    return text[:MAX_LABEL_CHARS].rstrip(" :") or "Form field"

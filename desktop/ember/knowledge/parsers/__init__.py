"""One parser module per format; each has ``parse(path: Path) -> ParsedDocument``.

Modules are imported on first use so that importing the knowledge package stays cheap.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ember.knowledge.types import ParsedDocument

PARSER_MODULES: dict[str, str] = {
    "pdf": "ember.knowledge.parsers.pdf",
    "docx": "ember.knowledge.parsers.docx",
    "html": "ember.knowledge.parsers.html",
    "markdown": "ember.knowledge.parsers.markdown",
    "rst": "ember.knowledge.parsers.rst",
    "text": "ember.knowledge.parsers.text",
    "code": "ember.knowledge.parsers.code",
    "csv": "ember.knowledge.parsers.csv",
    "test-hook": "ember.knowledge.parsers.testhook",
    "pptx": "ember.knowledge.parsers.pptx",
    "xlsx": "ember.knowledge.parsers.xlsx",
    "ods": "ember.knowledge.parsers.ods",
    "odt": "ember.knowledge.parsers.odt",
    "epub": "ember.knowledge.parsers.epub",
    "rtf": "ember.knowledge.parsers.rtf",
    "eml": "ember.knowledge.parsers.eml",
    "mbox": "ember.knowledge.parsers.mbox",
    "ipynb": "ember.knowledge.parsers.ipynb",
    "image": "ember.knowledge.parsers.image",
}

# Native or XML-heavy parsers that have hung or crashed on crafted files in the wild: these run
# only in the sandbox's child process. The rest are linear pure-Python code over bounded text.
RISKY_KINDS: frozenset[str] = frozenset({"pdf", "docx", "html", "test-hook"})
# The ZIP/XML formats, and the libraries (RTF, email headers, JSON) that a crafted file can send
# deep or slow: these run in the sandbox too.
RISKY_KINDS |= {"pptx", "xlsx", "ods", "odt", "epub", "rtf", "eml", "mbox", "ipynb"}
# Image decoders (libpng, libjpeg, libtiff) and the OCR engine (ONNX Runtime): native code, and
# seconds of CPU and ~2 GB of address space per page, under the sandbox's limits.
RISKY_KINDS |= {"image"}

# Parsers whose native library calls abort() when an allocation fails, and nowhere else that a
# file can reach: PDFium's FX_OutOfMemoryTerminate (its consistency checks trap instead). In the
# sandbox, under the worker's address-space limit, a SIGABRT from these means "out of memory":
# a decompression bomb, or a page far too large to read.
ABORT_MEANS_OUT_OF_MEMORY: frozenset[str] = frozenset({"pdf"})

# How a parser is named in messages: "the PDF parser crashed".
LABELS: dict[str, str] = {
    "pdf": "PDF",
    "docx": "Word (.docx)",
    "html": "HTML",
    "markdown": "Markdown",
    "rst": "reStructuredText",
    "text": "text",
    "code": "source code",
    "csv": "CSV",
    "test-hook": "test",
    "pptx": "PowerPoint (.pptx)",
    "xlsx": "Excel (.xlsx)",
    "ods": "spreadsheet (.ods)",
    "odt": "OpenDocument text (.odt)",
    "epub": "EPUB",
    "rtf": "RTF",
    "eml": "email (.eml)",
    "mbox": "mailbox (.mbox)",
    "ipynb": "Jupyter notebook",
    "image": "image",
}


def parse_in_this_process(kind: str, path: Path) -> ParsedDocument:
    """Run the parser for ``kind`` here, without a sandbox (tests, and the sandbox's child)."""
    module = importlib.import_module(PARSER_MODULES[kind])
    return module.parse(path)

"""The bounds every reader and parser honours, so one hostile or enormous file cannot take the
machine with it:

* ``MAX_FILE_BYTES``: files larger than this are refused before anything reads them.
* ``MAX_TEXT_CHARS``: a document keeps at most this many characters of extracted text; the rest is
  dropped with a note on the :class:`~ember.knowledge.types.ParsedDocument`. Text formats are read
  in ``READ_CHUNK_BYTES`` pieces and reading stops at the cap, so a 200 MB one-line file costs
  about 50 M characters of memory (plus one copy while sections are cut), never the whole file.
* ``MAX_SECTION_CHARS``: one section never holds more than this; longer runs are cut at whitespace.
"""

from __future__ import annotations

MAX_FILE_BYTES = 1024 * 1024 * 1024  # 1 GiB (messages write it in decimal units: 1.07 GB)
MAX_TEXT_CHARS = 50_000_000  # characters
MAX_SECTION_CHARS = 1_000_000  # characters
READ_CHUNK_BYTES = 1024 * 1024

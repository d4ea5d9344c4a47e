"""The one lock around PDFium (pypdfium2) in this process.

PDFium keeps global state and is not thread-safe: pypdfium2's documentation says it must not be
used from several threads at once, not even on different documents. Two sources opened in quick
succession locate their passages on two worker threads, and without the lock most such opens
came back "damaged PDF: this page could not be read". Every use of pypdfium2 in Ember holds
:data:`PDFIUM` from opening a document to closing it: :func:`ember.knowledge.locate.locate`, and
the PDF parser (in the app it runs in the sandbox's child process, which has its own PDFium and
its own lock; in this process only in tests and tools). QtPdf has its own copy of PDFium and its
own lock, so the viewer's page drawing does not wait on this one.

Re-entrant, so a helper called under the lock may take it again.
"""

from __future__ import annotations

import threading

PDFIUM = threading.RLock()

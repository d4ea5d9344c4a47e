"""A small PDF manual with printed page labels and a contents page, made with fpdf2.

Pages: 1 "i" (title), 2 "ii" (contents: dot leaders and page numbers), 3-6 "1"-"4" (one topic
each, the contents' titles as headings). fpdf2 writes the labels as a real /PageLabels number
tree, which PDFium reads back.
"""

from __future__ import annotations

from pathlib import Path

TOPICS = (
    (
        "Unpacking the kettle",
        "Lift the appliance out of the box by its base, keep the foam inserts for transport and "
        "peel the protective film from the lid before the first use.",
    ),
    (
        "Descaling the kettle with vinegar",
        "Limescale builds up in hard-water areas. Fill the jug halfway with equal parts white "
        "vinegar and water, bring it to the boil, leave it for an hour, then rinse it three "
        "times with clean water.",
    ),
    (
        "Replacing the water filter",
        "The mesh cartridge behind the spout slides up and out. Rinse the new cartridge under "
        "the tap and push it down into the grooves until it clicks.",
    ),
    (
        "Resetting the boil-dry safety cut-out",
        "If the jug was switched on empty, the thermal cut-out trips. Let the base cool for ten "
        "minutes and press the small button underneath until it clicks to restore power.",
    ),
)
CONTENTS_PAGE = 2  # physical page of the contents
FIRST_BODY_PAGE = 3  # physical page printed "1"
PAGE_COUNT = 2 + len(TOPICS)


def write_labeled_manual(path: Path, *, labels: bool = True) -> Path:
    """Write the manual to ``path``; ``labels=False`` leaves out the /PageLabels tree."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    if labels:
        pdf.set_page_label("r")  # i, ii
    pdf.cell(text="Kettle K100 owner's manual")
    pdf.add_page()
    pdf.cell(text="Contents", new_x="LMARGIN", new_y="NEXT")
    for number, (title, _) in enumerate(TOPICS, start=1):
        pdf.cell(text=f"{title} {'.' * 30} {number}", new_x="LMARGIN", new_y="NEXT")
    for number, (title, body) in enumerate(TOPICS, start=1):
        pdf.add_page()
        if labels and number == 1:
            pdf.set_page_label("D", label_start=1)  # 1, 2, 3, ...
        pdf.multi_cell(0, 8, text=f"{title}\n\n{body}")
    pdf.output(str(path))
    return path

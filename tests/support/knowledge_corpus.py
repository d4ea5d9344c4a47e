"""A small real corpus (text, Markdown, HTML, PDF) about unrelated topics, with questions.

Questions are paraphrased on purpose: they share few words with the passage that answers them,
as real questions do.
"""

from __future__ import annotations

from pathlib import Path

ROUTER = """Netgear R7000 router: quick guide

Restoring factory settings. Locate the small recessed button labelled Reset on the rear panel.
Press it with a paper clip and keep it pressed for seven seconds, until the power light blinks
amber. The router restarts with the default password printed on its label.

Updating firmware. Open the web interface at 192.168.1.1, go to Advanced, then Administration,
and choose Router Update. Never switch the device off while the update runs.

Wireless channels. In crowded apartment buildings, the 5 GHz band suffers less interference than
2.4 GHz. Channels 1, 6 and 11 do not overlap on 2.4 GHz.
"""

BREAD = """# Sourdough bread

## Starter

Feed the starter with equal weights of flour and water twelve hours before baking. It is ready
when it has doubled and a spoonful floats in water.

## Baking

Preheat the oven to 250 °C with a cast-iron pot inside for forty-five minutes. Bake the loaf
covered for twenty minutes, then uncovered at 230 °C for another twenty-five minutes, until the
crust is deep brown and the bottom sounds hollow when tapped.

## Storage

Keep the loaf cut side down on a wooden board; a plastic bag makes the crust soft.
"""

TAXES = """<html><head><title>Filing your tax return</title></head><body>
<h1>Filing your tax return</h1>
<h2>Deadlines</h2>
<p>The return for the previous calendar year is due on the thirty-first of July. Late filing
costs a penalty of 25 euros per started month.</p>
<h2>Deductions</h2>
<p>Commuting costs are deductible at 30 cents per kilometre of the one-way distance between home
and workplace. Keep receipts for work equipment such as a laptop for ten years.</p>
</body></html>
"""

PDF_PAGES = (
    (
        "Garden care",
        "Tomato plants need deep watering twice a week rather than a little every day. "
        "Remove the side shoots that grow between the stem and the leaves.",
    ),
    (
        "Bicycle repair",
        "To mend a punctured inner tube, lever the tyre off the rim, find the hole by pumping "
        "air and listening, roughen the area with sandpaper, apply glue, wait one minute, and "
        "press the patch firmly.",
    ),
    (
        "Stargazing",
        "Jupiter's four largest moons are visible with ordinary binoculars held steady. "
        "Saturn's rings need a small telescope with at least 25x magnification.",
    ),
)

# (question, file name, page or None)
QUESTIONS = (
    ("How long do I hold the button to wipe my router back to defaults?", "router.txt", None),
    ("What oven temperature should I use for the loaf?", "bread.md", None),
    ("When is the deadline to submit my taxes?", "taxes.html", None),
    ("How do I fix a flat tire on my bike?", "guide.pdf", 2),
    ("Can I see the moons of Jupiter without a telescope?", "guide.pdf", 3),
)

UNANSWERABLE = (
    "Who won the football world cup in 1998?",
    "What is the recommended dosage of ibuprofen for children?",
    "Which programming language has the best garbage collector?",
)


def write_corpus(folder: Path, *, pdf: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "router.txt", folder / "bread.md", folder / "taxes.html"]
    for path, text in zip(files, (ROUTER, BREAD, TAXES), strict=True):
        path.write_text(text, encoding="utf-8")
    if pdf:
        files.append(write_pdf(folder / "guide.pdf"))
    return files


def write_pdf(path: Path) -> Path:
    from fpdf import FPDF

    document = FPDF()
    document.set_font("Helvetica", size=12)
    for title, body in PDF_PAGES:
        document.add_page()
        document.multi_cell(0, 8, f"{title}\n\n{body}")
    document.output(str(path))
    return path

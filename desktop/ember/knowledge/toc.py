"""Tell a table of contents from body text, so retrieval can rank contents pages below the pages
they point to.

A contents page repeats every chapter's words ("Installing on Linux ........ 12"), so it matches
a question about any of them about as well as the page that answers it, and says nothing. A
passage counts as contents when most of its lines are entries, their page numbers rising:

* *leader entries*: a title, a run of dot leaders ("....", ". . .", "…", "___", "···") and a page
  number (arabic or roman), or a title and leaders whose number the next passage holds — every
  line (a chunk may hold a single entry: every dot is a token), or at least two and half of the
  lines or more (lines that are only a page number do not count), their page numbers rising; in
  text whose lines were run together, at least three leader runs, one per 12 words or fewer;
* *numbered entries*: short title lines (at most 12 words, no sentence punctuation at the end)
  each followed by a page number, no leaders — at least four, 70% of the lines or more, their
  page numbers rising.

A body passage that merely holds a dotted number or two ("see 3.4.1", "Loading.... 100%"), a list
of settings with their values, a numbered list of steps or a table is not contents.
"""

from __future__ import annotations

import itertools
import re

_PAGE = r"(?:\d{1,4}|[ivxlcdm]{1,7})"
_LEADER_MARKS = r"(?:[.\u00b7\u2024\u2026_][ \t\u00a0]?){4,}"
# A run of leader marks, then a page number ending the line (or a passage run together).
_LEADER = re.compile(rf"{_LEADER_MARKS}[ \t\u00a0]*(?P<page>{_PAGE})\b(?![.,:;]?\w)", re.I)
_DANGLING = re.compile(rf"{_LEADER_MARKS}$")  # its page number went to the next passage
_BARE_PAGE = re.compile(rf"{_PAGE}", re.I)  # a line that is only a page number (a footer)
# An entry without leaders: optional section number, a title, white space, a page number.
_NUMBERED = re.compile(
    r"^(?:(?:\d+(?:\.\d+)*|[A-Z]|[IVX]+)\.?\s+)?(?P<title>\S.*?)\s+(?P<page>\d{1,4})$"
)
_TITLE_END_PUNCTUATION = ",;:=+-*/(|<>[{\"'."
_MIN_LEADER_ENTRIES = 2
_MIN_RUN_TOGETHER_ENTRIES = 3
_MIN_NUMBERED_ENTRIES = 4
_MAX_ENTRY_WORDS = 12
_LEADER_SHARE = 0.5
_NUMBERED_SHARE = 0.7
_RISING_SHARE = 0.8


def looks_like_toc(text: str) -> bool:
    """Whether ``text`` (a chunk) is mostly table-of-contents entries; see the module notes."""
    if "\n" not in text and text.count(".") + text.count("\u2026") + text.count("_") < 4:
        return False  # the common case, decided at once: a line of prose
    lines = [
        line
        for line in (raw.strip() for raw in text.splitlines())
        if line and not _BARE_PAGE.fullmatch(line)
    ]
    if not lines:
        return False
    if _leader_entries(lines):
        return True
    if len(lines) < _MIN_RUN_TOGETHER_ENTRIES:  # lines run together: count entries in the words
        runs = len(_LEADER.findall(text))
        if runs >= _MIN_RUN_TOGETHER_ENTRIES and len(text.split()) <= _MAX_ENTRY_WORDS * runs:
            return True
    return _numbered_entries(lines)


def _leader_entries(lines: list[str]) -> bool:
    """Half the lines or more are titles with dot leaders, their page numbers rising."""
    entries = 0
    pages: list[int] = []
    for line in lines:
        match = _LEADER.search(line)
        if match is not None and match.end() == len(line) and _is_title(line[: match.start()]):
            entries += 1
            pages.append(_page_number(match.group("page")))
        elif (dangling := _DANGLING.search(line)) and _is_title(line[: dangling.start()]):
            entries += 1
    if entries == len(lines):  # nothing else: one entry is a whole chunk when leaders are long
        return _rising(pages)
    return (
        entries >= _MIN_LEADER_ENTRIES and entries >= _LEADER_SHARE * len(lines) and _rising(pages)
    )


def _is_title(text: str) -> bool:
    """Whether ``text`` could be an entry's title: some letters, at most 12 words."""
    return any(ch.isalpha() for ch in text) and len(text.split()) <= _MAX_ENTRY_WORDS


def _numbered_entries(lines: list[str]) -> bool:
    """Most lines are short titles ending in a page number, the numbers rising."""
    if len(lines) < _MIN_NUMBERED_ENTRIES:
        return False
    pages: list[int] = []
    for line in lines:
        match = _NUMBERED.match(line)
        if match is None:
            continue
        title = match.group("title").rstrip()
        if (
            len(title.split()) > _MAX_ENTRY_WORDS
            or title[-1] in _TITLE_END_PUNCTUATION
            or not any(ch.isalpha() for ch in title)
            or "|" in line
        ):
            continue
        page = int(match.group("page"))
        if 1900 <= page <= 2099:
            continue  # a year ("Version 3.10 released 2021"), not a page
        pages.append(page)
    if len(pages) < _MIN_NUMBERED_ENTRIES or len(pages) < _NUMBERED_SHARE * len(lines):
        return False
    return _rising(pages)


def _rising(pages: list[int]) -> bool:
    """Whether the page numbers mostly go up (or stay), as a contents page's do."""
    if len(pages) < 2:
        return True
    rising = sum(1 for before, after in itertools.pairwise(pages) if after >= before)
    return rising >= _RISING_SHARE * (len(pages) - 1)


def _page_number(page: str) -> int:
    """An arabic or roman page number's value; roman front matter counts before page 1."""
    if page.isdigit():
        return int(page)
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
    total = 0
    digits = [values[ch] for ch in page.lower()]
    for value, following in itertools.zip_longest(digits, digits[1:], fillvalue=0):
        total += -value if value < following else value
    return total - 10_000  # before any arabic page

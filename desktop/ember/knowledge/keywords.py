"""Words for the keyword index, in languages written with spaces and without.

SQLite's FTS5 ``unicode61`` tokenizer splits at spaces and punctuation, so a Chinese or Japanese
clause (no spaces) becomes one long token and no query word ever matches it. Ember indexes text
in those scripts as overlapping character bigrams ("自行车链条" -> "自行 行车 车链 链条"), and
splits a query the same way, as Lucene's ``CJKBigramFilter`` and Elasticsearch's ``cjk_bigram``
do: no dictionary, every two-character word (most Chinese words) matches exactly, and longer
words match as runs of bigrams. A lone character is kept as itself. Hangul is included: Korean
words carry their particles without a space ("지하철에서"), so bigrams find the stem there too.

Text without such characters is returned unchanged, so English search is what it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Han (with extensions and compatibility ideographs), Hiragana, Katakana (and its phonetic
# extensions and half-width forms), Hangul syllables and jamo, Bopomofo.
_CJK_CHARS = (
    "\u1100-\u11ff\u3040-\u309f\u30a0-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31bf"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0003134f"
)
_CJK_RUN = re.compile(f"[{_CJK_CHARS}]+")
_WORD = re.compile(r"\w+", re.UNICODE)


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds any character of a script written without spaces."""
    return _CJK_RUN.search(text) is not None


def mostly_cjk(text: str) -> bool:
    """Whether most of the letters in ``text`` are CJK characters."""
    letters = sum(len(word) for word in _WORD.findall(text) if not word.isdigit())
    cjk = sum(len(run) for run in _CJK_RUN.findall(text))
    return letters > 0 and cjk * 2 > letters


def bigrams(run: str) -> list[str]:
    """A run of CJK characters as overlapping pairs; one character stays itself."""
    if len(run) < 2:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def keyword_text(text: str) -> str | None:
    """``text`` as the keyword index should see it, or None when that is ``text`` itself.

    CJK runs become space-separated bigrams; everything else is left as it is.
    """
    if not has_cjk(text):
        return None
    return _CJK_RUN.sub(lambda m: f" {' '.join(bigrams(m.group(0)))} ", text)


def words(text: str) -> Iterator[str]:
    """The words of ``text`` as the keyword index holds them: ``\\w+`` runs, with CJK runs
    split into bigrams. Not lower-cased."""
    for match in _WORD.finditer(text):
        word = match.group(0)
        if not has_cjk(word):
            yield word
            continue
        start = 0
        for run in _CJK_RUN.finditer(word):
            if run.start() > start:
                yield word[start : run.start()]
            yield from bigrams(run.group(0))
            start = run.end()
        if start < len(word):
            yield word[start:]

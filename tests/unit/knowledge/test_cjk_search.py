"""Documents in languages written without spaces: found by their words, and said to be so.

FTS5's ``unicode61`` tokenizer makes a whole Chinese clause one token, so keyword search used to
match no Chinese word, and ranking fell back on an English-only embedder (case 10 of the shared
cases; GPT4All #1240, Onyx #272). Text in those scripts is now indexed as character bigrams.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.knowledge import KnowledgeBase
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.ingest import CJK_NOTE
from ember.knowledge.keywords import keyword_text, mostly_cjk, words
from ember.knowledge.retrieval import query_words
from ember.knowledge.store import KnowledgeStore

CHINESE = {
    "garden.txt": "阳台种菜的要点\n\n番茄需要每天至少六个小时的阳光。花盆底部要有排水孔，"
    "浇水要浇透，但不能让盆里积水。每两周施一次稀释的有机肥。",
    "printer.txt": "打印机卡纸的处理\n\n先关掉电源，打开后盖，顺着走纸的方向慢慢把纸抽出来。"
    "不要用力拉扯，以免撕破纸张留在里面。硒鼓每打印两千页左右需要更换。",
    "passport.txt": "护照办理须知\n\n申请人需要携带身份证和户口本，到出入境管理处拍照并填表。"
    "一般十个工作日可以领取，也可以选择邮寄到家。",
}
JAPANESE = {
    "kettle.txt": "電気ケトルのお手入れ\n\n月に一度、クエン酸を溶かした水を沸かして、"
    "内側の水あかを落としてください。空だきは故障の原因になります。",
    "bus.txt": "市営バスの乗り方\n\n後ろのドアから乗車し、整理券を取ってください。"
    "運賃は降りるときに前の運賃箱に入れます。",
}


def test_text_in_scripts_without_spaces_is_indexed_as_bigrams() -> None:
    assert keyword_text("自行车链条") == " 自行 行车 车链 链条 "
    assert keyword_text("Plain English stays as it is.") is None
    assert list(words("用WD-40润滑链条")) == ["用", "WD", "40", "润滑", "滑链", "链条"]
    assert query_words("链条多久上油？") == ["链条", "条多", "多久", "久上", "上油"]
    assert query_words("茶") == ["茶"]  # one character is a word in Chinese
    assert mostly_cjk("自行车的链条 chain") and not mostly_cjk("the 链条 chain of a bicycle")


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, minilm: MiniLMEmbedder):
    root = tmp_path_factory.mktemp("cjk")
    folder = root / "docs"
    folder.mkdir()
    for name, text in {
        **CHINESE,
        **JAPANESE,
        "english.txt": "The boiler is serviced in May.",
    }.items():
        (folder / name).write_text(text, encoding="utf-8")
    with KnowledgeBase(root / "kb", embedder=minilm) as kb:
        report = kb.index([folder], "mixed")
        assert report.failed == []
        kb.report = report  # type: ignore[attr-defined]
        yield kb


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("番茄每天要晒多久太阳？", "garden.txt"),
        ("打印机卡纸了怎么办？", "printer.txt"),
        ("硒鼓", "printer.txt"),  # a two-character word alone
        ("办护照要带什么证件？", "passport.txt"),
        ("ケトルの水あかはどう落とす？", "kettle.txt"),
        ("バスの運賃はいつ払いますか", "bus.txt"),
    ],
)
def test_a_question_in_chinese_or_japanese_finds_its_document_first(
    kb: KnowledgeBase, question: str, expected: str
) -> None:
    assert Path(kb.search(question, None, 3).hits[0].source).name == expected


@pytest.mark.slow
def test_each_such_document_says_search_finds_it_by_its_words(kb: KnowledgeBase) -> None:
    warned = {Path(w.path).name for w in kb.report.warnings if w.message == CJK_NOTE}  # type: ignore[attr-defined]
    assert warned == set(CHINESE) | set(JAPANESE)


@pytest.mark.slow
def test_english_search_is_unchanged_beside_them(kb: KnowledgeBase) -> None:
    assert Path(kb.search("when is the boiler serviced", None, 1).hits[0].source).name == (
        "english.txt"
    )


def test_an_index_from_before_bigrams_is_migrated_and_finds_chinese_words(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.sqlite3"
    from ember.db import connect, migrate
    from ember.knowledge.migrations import MIGRATIONS

    conn = connect(path)
    migrate(conn, MIGRATIONS[:1], label="knowledge")  # the schema Ember 0.1 wrote
    conn.execute("INSERT INTO collections (name, created) VALUES ('old', 0)")
    conn.execute(
        "INSERT INTO documents (collection_id, path, state) VALUES (1, '/docs/bike.txt', 'done')"
    )
    conn.execute(
        'INSERT INTO chunks (document_id, ordinal, text, embed_text, section, start, "end") '
        "VALUES (1, 0, '链条要上润滑油。', '链条要上润滑油。', 0, 0, 8)"
    )
    conn.commit()
    assert (
        conn.execute(
            "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH '\"链条\"'"
        ).fetchone()[0]
        == 0
    )
    conn.close()

    store = KnowledgeStore(path)
    try:
        assert store.keyword_search('"链条"', None, 5) == [1]
        store.conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
        store.remove_document(1)  # the delete trigger removes exactly what was indexed
        store.conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
        assert store.keyword_search('"链条"', None, 5) == []
    finally:
        store.close()


def test_a_chinese_heading_is_found_by_its_words(tmp_path: Path, tiny) -> None:
    (tmp_path / "manual.md").write_text(
        "# 洗衣机的保养\n\nClean the filter monthly.\n", encoding="utf-8"
    )
    with KnowledgeBase(tmp_path / "kb", embedder=tiny) as kb:
        kb.index([tmp_path / "manual.md"], "m")
        assert kb.store.keyword_search('"洗衣"', None, 5) != []

"""Unit tests of the reader side of docs/_ext/survey_sphinx (no site build needed)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

from survey_sphinx import assets  # noqa: E402
from survey_sphinx import downloads as bib_downloads  # noqa: E402
from survey_sphinx import glossary as glossary_links  # noqa: E402
from survey_sphinx import search as zh_search  # noqa: E402


@pytest.mark.parametrize("value, mode", [("local", "local"), ("cdn", "cdn"), (" CDN ", "cdn")])
def test_mathjax_mode(value, mode):
    assert assets.mathjax_mode(SimpleNamespace(survey_mathjax=value)) == mode


def test_mathjax_mode_refuses_anything_else():
    with pytest.raises(Exception, match="survey_mathjax"):
        assets.mathjax_mode(SimpleNamespace(survey_mathjax="nonsense"))


def test_mathjax_distribution_is_installed():
    es5 = assets.mathjax_source()
    assert (es5 / "tex-mml-chtml.js").stat().st_size > 100_000
    assert list((es5 / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


def test_glossary_terms_feed_the_jieba_dictionary():
    terms = zh_search.glossary_terms()
    for term in ("变分自编码器", "生成对抗网络", "知识蒸馏", "受限玻尔兹曼机"):
        assert term in terms
    assert not any(" " in t or t.isascii() for t in terms)
    user = zh_search.user_dictionary_terms()
    assert set(terms) <= set(user) and len(user) == len(set(user))


def test_jieba_keeps_book_terms_whole_with_the_dictionary(tmp_path):
    jieba = pytest.importorskip("jieba")
    dict_file = tmp_path / "user.txt"
    dict_file.write_text("\n".join(zh_search.user_dictionary_terms()), encoding="utf-8")
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(dict_file))
    words = set(tokenizer.cut_for_search("我们用变分自编码器和生成对抗网络做知识蒸馏"))
    assert {"变分自编码器", "生成对抗网络", "知识蒸馏"} <= words


def test_longest_term_wins_where_terms_overlap():
    terms = sorted(["编码器", "自编码器", "变分自编码器"], key=len, reverse=True)
    assert glossary_links._matches("变分自编码器和编码器", terms) == [
        (0, "变分自编码器"), (7, "编码器")]


def _doctree(rst: str) -> nodes.document:
    doc = new_document("test", get_default_settings(Parser))
    Parser().parse(rst, doc)
    return doc


def test_first_use_only_and_not_in_code():
    doc = _doctree("``自编码器`` 在代码里。\n\n自编码器第一次出现，自编码器第二次出现。\n\n"
                   "再说自编码器。\n")
    linked = glossary_links.link_first_uses(doc, ["自编码器"])
    assert linked == ["自编码器"]
    refs = list(doc.findall(glossary_links.addnodes.pending_xref))
    assert len(refs) == 1 and refs[0]["reftarget"] == "自编码器"
    paragraph = refs[0].parent
    assert paragraph.astext() == "自编码器第一次出现，自编码器第二次出现。"
    assert doc.children[0].astext() == "自编码器 在代码里。"  # the literal is untouched


def test_bib_blocks_are_verbatim_and_in_order():
    text = ("@comment{x}\n@article{b2020x,\n  title = {B},\n}\n\n"
            "@misc{A2019y, title={A}}\n")
    blocks = bib_downloads.bib_blocks(text)
    assert list(blocks) == ["b2020x", "a2019y"]
    assert blocks["b2020x"] == "@article{b2020x,\n  title = {B},\n}\n"
    assert bib_downloads.page_file_name("survey/02-autoencoders") == "survey-02-autoencoders.bib"


def test_cjk_line_breaks_are_joined_but_latin_ones_kept():
    from survey_sphinx.cjk import join_cjk_lines

    assert join_cjk_lines("一个信源\n在无损前提下") == "一个信源在无损前提下"
    assert join_cjk_lines("编码，\n  解码。") == "编码，解码。"
    assert join_cjk_lines("of\nthe") == "of\nthe"
    assert join_cjk_lines("使用 PyTorch\n训练") == "使用 PyTorch\n训练"
    assert join_cjk_lines("数据\nPCA") == "数据\nPCA"

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


def test_chinese_search_loads_jieba_dictionaries_at_the_first_page_only(tmp_path, monkeypatch):
    import sphinx.search.zh as sphinx_zh

    loaded = []
    monkeypatch.setattr(sphinx_zh, "jieba_load_userdict", loaded.append)
    dict_file = tmp_path / "user.txt"
    dict_file.write_text("变分自编码器\n", encoding="utf-8")
    language = zh_search.LazyChineseSearch({"dict": str(dict_file)})
    assert loaded == []  # the builder made it: nothing loaded yet
    assert "模型" in language.split("一个模型")
    assert "model" in language.split("model") and loaded == [str(dict_file)]  # once
    assert language.stem("models") == "model"  # Sphinx's stemmer, as before
    fresh = zh_search.LazyChineseSearch({"dict": str(dict_file)})
    assert fresh.stem("models") == "model" and len(loaded) == 2  # stemming also loads


def test_longest_term_wins_where_terms_overlap():
    terms = sorted(["编码器", "自编码器", "变分自编码器"], key=len, reverse=True)
    assert glossary_links._matches("变分自编码器和编码器", terms) == [
        (0, "变分自编码器"),
        (7, "编码器"),
    ]


def _doctree(rst: str) -> nodes.document:
    doc = new_document("test", get_default_settings(Parser))
    Parser().parse(rst, doc)
    return doc


def test_first_use_only_and_not_in_code():
    doc = _doctree(
        "``自编码器`` 在代码里。\n\n自编码器第一次出现，自编码器第二次出现。\n\n再说自编码器。\n"
    )
    linked = glossary_links.link_first_uses(doc, ["自编码器"])
    assert linked == ["自编码器"]
    refs = list(doc.findall(glossary_links.addnodes.pending_xref))
    assert len(refs) == 1 and refs[0]["reftarget"] == "自编码器"
    paragraph = refs[0].parent
    assert paragraph.astext() == "自编码器第一次出现，自编码器第二次出现。"
    assert doc.children[0].astext() == "自编码器 在代码里。"  # the literal is untouched


def test_bib_blocks_are_verbatim_and_in_order():
    text = "@comment{x}\n@article{b2020x,\n  title = {B},\n}\n\n@misc{A2019y, title={A}}\n"
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


def test_glossary_variants_map_to_their_entry(tmp_path):
    glossary = tmp_path / "glossary.md"
    glossary.write_text(
        "```{glossary}\n规模定律\nscaling law\n  定义。\n"
        "  不用：缩放定律、尺度定律\n\n"
        "模式崩溃\nmode collapse\n  定义。\n  不用：模式崩塌\n```\n",
        encoding="utf-8",
    )
    assert zh_search.glossary_variants(glossary) == {
        "缩放定律": "规模定律",
        "尺度定律": "规模定律",
        "模式崩塌": "模式崩溃",
    }


def test_gallery_strings_are_translated():
    from survey_sphinx.gallery_zh import translate

    page = (
        ".. note::\n    :ref:`Go to the end <sphx_glr_download_a_b.py>`\n"
        "    to download the full example code.\n\n"
        "**Total running time of the script:** (0 minutes 2.714 seconds)\n"
        ":download:`Download Python source code: b.py <b.py>`\n"
        ":download:`Download Jupyter notebook: b.ipynb <b.ipynb>`\n"
        "`Gallery generated by Sphinx-Gallery <https://sphinx-gallery.github.io>`_\n"
    )
    out = translate(page)
    for english in (
        "Go to the end",
        "download the full",
        "Total running",
        "Download",
        "Gallery generated",
    ):
        assert english not in out
    assert ":ref:`跳到页尾 <sphx_glr_download_a_b.py>`" in out and "0 分 2.714 秒" in out
    assert ":download:`下载 Python 源代码：b.py <b.py>`" in out


def test_glossary_names_map_to_the_chapter_that_explains_them(tmp_path):
    glossary = tmp_path / "glossary.md"
    glossary.write_text(
        "```{glossary}\n变分自编码器\nvariational autoencoder, VAE\n"
        "  释义。见 {doc}`survey/02-autoencoders`。\n\n"
        "术语表外\nnot a chapter\n  释义。见 {doc}`references`。\n```\n",
        encoding="utf-8",
    )
    assert zh_search.glossary_concepts(glossary) == {
        "变分自编码器": "survey/02-autoencoders",
        "variational autoencoder": "survey/02-autoencoders",
        "vae": "survey/02-autoencoders",
    }

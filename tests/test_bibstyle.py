"""The GB/T 7714 styles (pybtex_gbt7714) on the site's own kinds of entries: exact strings
per entry type in both editions (the standard's printed examples are in
test_gbt7714_standard.py)."""

from __future__ import annotations

import pytest
from pybtex.database import parse_string
from pybtex.plugin import find_plugin

import pybtex_gbt7714 as gbt7714
from pybtex_gbt7714 import (
    GBT7714_2015,
    GBT7714_2025,
    BibOrderLabelStyle,
    BibOrderSortingStyle,
    GBT7714Style,
    GBT7714Style2015,
    edition,
    format_person,
    sentence_case,
    use_bib_order,
)

BIB = r"""
@article{yuan2019autoencoder,
  author = {袁非牛 and 章琳 and 史劲亭 and 夏雪 and 李钢 and 张文林},
  title = {自编码神经网络理论及应用综述}, journal = {计算机学报}, year = {2019},
  volume = {42}, number = {1}, pages = {203--230},
  doi = {10.11897/SP.J.1016.2019.00203}, language = {chinese}
}
@article{hinton2006reducing,
  author = {Hinton, Geoffrey E. and Salakhutdinov, Ruslan R.},
  title = {Reducing the Dimensionality of Data with Neural Networks},
  journal = {Science}, year = {2006}, volume = {313}, number = {5786}, pages = {504--507},
  doi = {10.1126/science.1127647}
}
@article{rumelhart1986learning,
  author = {Rumelhart, David E. and Hinton, Geoffrey E. and Williams, Ronald J.},
  title = {Learning Representations by Back-Propagating Errors},
  journal = {Nature}, year = {1986}, volume = {323}, number = {6088}, pages = {533--536}
}
@article{kaplan2020scaling,
  author = {Kaplan, Jared and McCandlish, Sam and Henighan, Tom and Brown, Tom B.},
  title = {Scaling Laws for Neural Language Models}, journal = {arXiv preprint},
  year = {2020}, eprint = {2001.08361}, archivePrefix = {arXiv}
}
@inproceedings{vincent2008extracting,
  author = {Vincent, Pascal and Larochelle, Hugo and Bengio, Yoshua and Manzagol, Pierre-Antoine},
  title = {Extracting and Composing Robust Features with Denoising Autoencoders},
  booktitle = {Proceedings of the 25th International Conference on Machine Learning},
  address = {Helsinki}, publisher = {ACM}, year = {2008}, pages = {1096--1103}
}
@inproceedings{kingma2014auto,
  author = {Kingma, Diederik P. and Welling, Max},
  title = {Auto-Encoding Variational {B}ayes},
  booktitle = {2nd International Conference on Learning Representations},
  year = {2014}, eprint = {1312.6114}, archivePrefix = {arXiv}
}
@inproceedings{arjovsky2017wasserstein,
  author = {Arjovsky, Martin and Chintala, Soumith and Bottou, L{\'e}on},
  title = {{W}asserstein Generative Adversarial Networks},
  booktitle = {Proceedings of the 34th International Conference on Machine Learning},
  publisher = {PMLR}, year = {2017}, pages = {214--223}
}
@incollection{smolensky1986information,
  author = {Smolensky, Paul},
  title = {Information Processing in Dynamical Systems: Foundations of Harmony Theory},
  booktitle = {Parallel Distributed Processing},
  editor = {Rumelhart, David E. and McClelland, James L.},
  publisher = {MIT Press}, address = {Cambridge, MA}, year = {1986}, pages = {194--281}
}
@book{goodfellow2016deep,
  author = {Goodfellow, Ian and Bengio, Yoshua and Courville, Aaron},
  title = {Deep Learning}, publisher = {MIT Press}, address = {Cambridge, MA}, year = {2016}
}
@book{zhou2016machine,
  author = {周志华}, title = {机器学习}, publisher = {清华大学出版社}, address = {北京},
  year = {2016}
}
@phdthesis{liu2000biomass,
  author = {刘乃安}, title = {生物质材料热解失重动力学及其分析方法研究},
  school = {中国科学技术大学}, address = {合肥}, year = {2000}
}
@phdthesis{sutskever2013training,
  author = {Sutskever, Ilya}, title = {Training Recurrent Neural Networks},
  school = {University of Toronto}, address = {Toronto}, year = {2013}
}
@techreport{krizhevsky2009learning,
  author = {Krizhevsky, Alex}, title = {Learning Multiple Layers of Features from Tiny Images},
  institution = {University of Toronto}, address = {Toronto}, year = {2009}
}
@techreport{openai2023gpt4v,
  author = {{OpenAI}}, title = {{GPT-4V(ision)} System Card}, institution = {OpenAI},
  year = {2023}, url = {https://openai.com/research/gpt-4v-system-card},
  urldate = {2026-11-29}
}
@misc{midjourney2022,
  author = {{Midjourney, Inc.}}, title = {Midjourney}, year = {2022},
  url = {https://www.midjourney.com}, urldate = {2026-11-29}
}
@misc{hinton2015distilling,
  author = {Hinton, Geoffrey and Vinyals, Oriol and Dean, Jeff},
  title = {Distilling the Knowledge in a Neural Network}, year = {2015},
  eprint = {1503.02531}, archivePrefix = {arXiv}
}
"""

# GB/T 7714—2015: the seed's own form
EXPECTED_2015 = {
    # [J] Chinese: three authors then 等
    "yuan2019autoencoder": "袁非牛, 章琳, 史劲亭, 等. 自编码神经网络理论及应用综述[J]. 计算机学报, 2019, 42(1): 203-230.",
    # [J] English: family name in capitals, initials without full stops
    "hinton2006reducing": "HINTON G E, SALAKHUTDINOV R R. Reducing the dimensionality of data with neural "
    "networks[J]. Science, 2006, 313(5786): 504-507.",
    # exactly three authors: all listed, no et al
    "rumelhart1986learning": "RUMELHART D E, HINTON G E, WILLIAMS R J. Learning representations by "
    "back-propagating errors[J]. Nature, 1986, 323(6088): 533-536.",
    # arXiv preprint: [EB/OL] with its identifier
    "kaplan2020scaling": "KAPLAN J, MCCANDLISH S, HENIGHAN T, et al. Scaling laws for neural language "
    "models[EB/OL]. arXiv: 2001.08361, 2020.",
    # [C] with place, publisher and pages; hyphenated given name
    "vincent2008extracting": "VINCENT P, LAROCHELLE H, BENGIO Y, et al. Extracting and composing robust features "
    "with denoising autoencoders[C]//Proceedings of the 25th International Conference on "
    "Machine Learning. Helsinki: ACM, 2008: 1096-1103.",
    # [C] without pages, with arXiv id; braces keep "Bayes"
    "kingma2014auto": "KINGMA D P, WELLING M. Auto-encoding variational Bayes[C]//2nd International "
    "Conference on Learning Representations. 2014. arXiv: 1312.6114.",
    # accents decoded from LaTeX
    "arjovsky2017wasserstein": "ARJOVSKY M, CHINTALA S, BOTTOU L. Wasserstein generative adversarial networks[C]//"
    "Proceedings of the 34th International Conference on Machine Learning. PMLR, 2017: "
    "214-223.",
    # [M]// chapter in an edited book; the word after a colon keeps its capital
    "smolensky1986information": "SMOLENSKY P. Information processing in dynamical systems: Foundations of harmony "
    "theory[M]//RUMELHART D E, MCCLELLAND J L. Parallel Distributed Processing. "
    "Cambridge, MA: MIT Press, 1986: 194-281.",
    # [M] English and Chinese
    "goodfellow2016deep": "GOODFELLOW I, BENGIO Y, COURVILLE A. Deep learning[M]. Cambridge, MA: MIT Press, 2016.",
    "zhou2016machine": "周志华. 机器学习[M]. 北京: 清华大学出版社, 2016.",
    # [D] Chinese and English
    "liu2000biomass": "刘乃安. 生物质材料热解失重动力学及其分析方法研究[D]. 合肥: 中国科学技术大学, 2000.",
    "sutskever2013training": "SUTSKEVER I. Training recurrent neural networks[D]. Toronto: University of Toronto, 2013.",
    # [R] and [R/OL] (organisation as author, as written)
    "krizhevsky2009learning": "KRIZHEVSKY A. Learning multiple layers of features from tiny images[R]. Toronto: "
    "University of Toronto, 2009.",
    "openai2023gpt4v": "OpenAI. GPT-4V(ision) system card[R/OL]. OpenAI, 2023[2026-11-29]. "
    "https://openai.com/research/gpt-4v-system-card.",
    # [EB/OL] web page: (year)[access date]. URL; no doubled full stop after "Inc."
    "midjourney2022": "Midjourney, Inc. Midjourney[EB/OL]. (2022)[2026-11-29]. https://www.midjourney.com.",
    # @misc arXiv preprint
    "hinton2015distilling": "HINTON G, VINYALS O, DEAN J. Distilling the knowledge in a neural network[EB/OL]. "
    "arXiv: 1503.02531, 2015.",
}

# GB/T 7714—2025 (the default): names as written with initials, subtitles in lower case,
# [PP/OL] preprints, no access date for a report, ``[C]//会议, 年``
EXPECTED_2025 = {
    "yuan2019autoencoder": EXPECTED_2015["yuan2019autoencoder"],
    "hinton2006reducing": "Hinton G E, Salakhutdinov R R. Reducing the dimensionality of data with neural "
    "networks[J]. Science, 2006, 313(5786): 504-507.",
    "rumelhart1986learning": "Rumelhart D E, Hinton G E, Williams R J. Learning representations by "
    "back-propagating errors[J]. Nature, 1986, 323(6088): 533-536.",
    "kaplan2020scaling": "Kaplan J, McCandlish S, Henighan T, et al. Scaling laws for neural language "
    "models[PP/OL]. arXiv (2020). https://arxiv.org/abs/2001.08361.",
    "vincent2008extracting": "Vincent P, Larochelle H, Bengio Y, et al. Extracting and composing robust features "
    "with denoising autoencoders[C]//Proceedings of the 25th International Conference on "
    "Machine Learning. Helsinki: ACM, 2008: 1096-1103.",
    "kingma2014auto": "Kingma D P, Welling M. Auto-encoding variational Bayes[C]//2nd International "
    "Conference on Learning Representations, 2014. arXiv: 1312.6114.",
    "arjovsky2017wasserstein": "Arjovsky M, Chintala S, Bottou L. Wasserstein generative adversarial networks[C]//"
    "Proceedings of the 34th International Conference on Machine Learning. PMLR, 2017: "
    "214-223.",
    "smolensky1986information": "Smolensky P. Information processing in dynamical systems: foundations of harmony "
    "theory[M]//Rumelhart D E, McClelland J L. Parallel Distributed Processing. "
    "Cambridge, MA: MIT Press, 1986: 194-281.",
    "goodfellow2016deep": "Goodfellow I, Bengio Y, Courville A. Deep learning[M]. Cambridge, MA: MIT Press, 2016.",
    "zhou2016machine": EXPECTED_2015["zhou2016machine"],
    "liu2000biomass": EXPECTED_2015["liu2000biomass"],
    "sutskever2013training": "Sutskever I. Training recurrent neural networks[D]. Toronto: University of Toronto, 2013.",
    "krizhevsky2009learning": "Krizhevsky A. Learning multiple layers of features from tiny images[R]. Toronto: "
    "University of Toronto, 2009.",
    "openai2023gpt4v": "OpenAI. GPT-4V(ision) system card[R/OL]. OpenAI, 2023. "
    "https://openai.com/research/gpt-4v-system-card.",
    "midjourney2022": EXPECTED_2015["midjourney2022"],
    "hinton2015distilling": "Hinton G, Vinyals O, Dean J. Distilling the knowledge in a neural network[PP/OL]. "
    "arXiv (2015). https://arxiv.org/abs/1503.02531.",
}
STYLES = {2015: GBT7714Style2015, 2025: GBT7714Style}
EXPECTED = {2015: EXPECTED_2015, 2025: EXPECTED_2025}


@pytest.fixture()
def bib():
    use_bib_order(None)
    yield parse_string(BIB, "bibtex")
    use_bib_order(None)


def _formatted(bib, year: int = 2025):
    style = STYLES[year]()
    return {e.key: e for e in style.format_entries(bib.entries.values())}


@pytest.fixture(scope="module")
def texts():
    """Each edition's text of every sample entry, formatted once (a plain-text backend
    made once: render_as looks the backend up among entry points on every call)."""
    from pybtex.backends.plaintext import Backend

    use_bib_order(None)
    entries = parse_string(BIB, "bibtex").entries.values()
    return {
        year: {f.key: f.text.render(Backend()) for f in style().format_entries(entries)}
        for year, style in STYLES.items()
    }


@pytest.mark.parametrize(
    "year, key", [(y, k) for y in (2015, 2025) for k in EXPECTED[y]], ids=lambda v: str(v)
)
def test_entry_text_exact(texts, year, key):
    assert texts[year][key] == EXPECTED[year][key]


@pytest.mark.parametrize("year", [2015, 2025])
def test_every_entry_of_the_sample_is_checked(bib, year):
    assert set(EXPECTED[year]) == set(bib.entries)


def test_registered_as_pybtex_plugins():
    assert find_plugin("pybtex.style.formatting", "gbt7714") is GBT7714Style
    assert find_plugin("pybtex.style.formatting", "gbt7714-2025") is GBT7714Style
    assert find_plugin("pybtex.style.formatting", "gbt7714-2015") is GBT7714Style2015
    assert find_plugin("pybtex.style.labels", "gbt7714") is BibOrderLabelStyle
    assert find_plugin("pybtex.style.sorting", "gbt7714") is BibOrderSortingStyle


def test_labels_follow_given_order_without_bib_file(bib):
    labels = [e.label for e in GBT7714Style().format_entries(bib.entries.values())]
    assert labels == [str(i) for i in range(1, len(bib.entries) + 1)]


def test_labels_and_order_follow_the_bib_file(bib, tmp_path):
    # the bib file lists the works in another order: its positions are the labels
    order_file = tmp_path / "order.bib"
    keys = ["midjourney2022", "hinton2006reducing", "yuan2019autoencoder"]
    order_file.write_text(
        "@comment{not an entry,}\n" + "".join(f"@misc{{{k},\n title={{x}}}}\n" for k in keys),
        encoding="utf-8",
    )
    use_bib_order(order_file)
    subset = [
        bib.entries[k] for k in ("yuan2019autoencoder", "midjourney2022", "hinton2006reducing")
    ]
    formatted = list(GBT7714Style().format_entries(subset))
    assert [(f.key, f.label) for f in formatted] == [
        ("midjourney2022", "1"),
        ("hinton2006reducing", "2"),
        ("yuan2019autoencoder", "3"),
    ]


def test_doi_and_arxiv_are_links_in_html(bib):
    formatted = _formatted(bib)
    html = formatted["hinton2006reducing"].text.render_as("html")
    assert 'href="https://doi.org/10.1126/science.1127647"' in html
    html = formatted["kingma2014auto"].text.render_as("html")
    assert 'href="https://arxiv.org/abs/1312.6114"' in html


@pytest.mark.parametrize(
    "name, expected_2015, expected_2025",
    [
        ("Hinton, Geoffrey E.", "HINTON G E", "Hinton G E"),
        ("Zhu, Jun-Yan", "ZHU J Y", "Zhu J-Y"),
        ("Sohl-Dickstein, Jascha", "SOHL-DICKSTEIN J", "Sohl-Dickstein J"),
        ("van den Oord, Aäron", "VAN DEN OORD A", "van den Oord A"),
        ("Kaiser, {\\L}ukasz", "KAISER Ł", "Kaiser Ł"),
        ("Bourlard, Herv{\\'e}", "BOURLARD H", "Bourlard H"),
        ("Le, Quoc V.", "LE Q V", "Le Q V"),
        ("Peebles, Jr., Peyton Z.", "PEEBLES P Z, Jr", "Peebles P Z Jr"),
        ("{OpenAI}", "OpenAI", "OpenAI"),
        ("{Li Jiangning}", "Li Jiangning", "Li Jiangning"),
        ("袁非牛", "袁非牛", "袁非牛"),
    ],
)
def test_person_names(name, expected_2015, expected_2025):
    from pybtex.database import Person

    assert format_person(Person(name), GBT7714_2015) == expected_2015
    assert format_person(Person(name), GBT7714_2025) == expected_2025
    assert format_person(Person(name)) == expected_2025  # the default edition


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Attention Is All You Need", "Attention is all you need"),
        ("Large Scale {GAN} Training", "Large scale GAN training"),
        ("Improved Training of {W}asserstein {GAN}s", "Improved training of Wasserstein GANs"),
        ("ImageNet Classification with Deep CNNs", "ImageNet classification with deep CNNs"),
        ("自编码神经网络理论及应用综述", "自编码神经网络理论及应用综述"),
    ],
)
def test_sentence_case(title, expected):
    for year in (GBT7714_2015, GBT7714_2025):
        assert sentence_case(title, year).render_as("text") == expected


def test_subtitle_case_differs_between_editions():
    title = "BERT: Pre-training of Deep Bidirectional Transformers"
    assert sentence_case(title, GBT7714_2015).render_as("text") == (
        "BERT: Pre-training of deep bidirectional transformers"  # as the bib file writes it
    )
    assert sentence_case(title, GBT7714_2025).render_as("text") == (
        "BERT: pre-training of deep bidirectional transformers"  # lower case (2025 §8.2.2)
    )


def test_edition_lookup_and_bad_input():
    assert edition(2015) is GBT7714_2015 and edition("2025") is GBT7714_2025
    with pytest.raises(ValueError, match="year: expected one of the editions"):
        edition(2005)


def test_more_than_three_english_authors_is_et_al_and_chinese_is_deng(bib):
    formatted = _formatted(bib, 2015)
    assert ", et al. " in formatted["vincent2008extracting"].text.render_as("text")
    assert ", 等. " in formatted["yuan2019autoencoder"].text.render_as("text")
    assert gbt7714.is_chinese(bib.entries["zhou2016machine"])
    assert not gbt7714.is_chinese(bib.entries["goodfellow2016deep"])


def test_bad_arguments_name_what_was_expected():
    from pybtex.database import Person

    with pytest.raises(TypeError, match="edition: expected GBT7714_2015 or GBT7714_2025"):
        format_person(Person("Hinton, Geoffrey"), 2025)
    with pytest.raises(TypeError, match="person: expected a pybtex.database.Person"):
        format_person("Hinton, Geoffrey")
    with pytest.raises(TypeError, match="latex: expected the title field as a str"):
        sentence_case(None)

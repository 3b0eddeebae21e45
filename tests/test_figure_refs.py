"""``图 N`` in the prose links to the page's figure captioned ``图 N　`` (survey_sphinx.figure_refs).

A toy page built with the HTML and the LaTeX builders: mentions become internal links to
the figure's id (its ``:name:``, or ``fig-N``), while a mention in a caption or in code, a
number with no figure and ``每张图 16 个词元`` stay text.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[1] / "docs" / "_ext"

pytestmark = pytest.mark.build

CONF = f"""
import sys
sys.path.insert(0, {str(EXT)!r})
project = "toy"
extensions = ["myst_parser", "survey_sphinx.figure_refs"]
exclude_patterns = ["_build"]
latex_documents = [("index", "toy.tex", "Toy", "me", "manual", False)]
"""

PNG = base64.b64decode(  # 1×1 pixel
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

PAGE = """# 图

如图 1 左所示，右边见（图 2）；图 3 不存在。每张图 16 个词元。代码 `图 1` 不变。

```{figure} dot.png
:name: fig-named

图 1　第一幅，参见图 2。
```

```{figure} dot.png

图 2　第二幅
```
"""


def _build(src: Path, builder: str) -> Path:
    out = src / "_build" / builder
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", builder, src, out],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("figure_refs_toy")
    (src / "conf.py").write_text(CONF, encoding="utf-8")
    (src / "dot.png").write_bytes(PNG)
    (src / "index.md").write_text(PAGE, encoding="utf-8")
    return src


@pytest.fixture(scope="module")
def html(toy):
    from bs4 import BeautifulSoup

    page = (_build(toy, "html") / "index.html").read_text(encoding="utf-8")
    return BeautifulSoup(page, "html.parser")


def test_a_mention_links_to_its_figure(html):
    links = {a.get_text(): a["href"] for a in html.select("a.figure-mention")}
    assert links == {"图 1": "#fig-named", "图 2": "#fig-2"}
    # the id sits on the figure itself, where sphinx-tippy copies the preview from
    assert html.find(id="fig-2").name == "figure"
    assert html.find(id="fig-named").name == "figure"


def test_captions_code_and_missing_numbers_stay_text(html):
    assert html.select("figcaption a.figure-mention") == []
    assert html.select("code a") == [] and "图 1" in html.find("code").get_text()
    prose = html.find("p")
    assert "图 3 不存在" in prose.get_text() and "每张图 16 个词元" in prose.get_text()
    assert len(prose.select("a.figure-mention")) == 2


def test_the_pdf_links_the_mention_to_the_figure_label(toy):
    tex = (_build(toy, "latex") / "toy.tex").read_text(encoding="utf-8")
    assert r"\label{\detokenize{index:fig-2}}" in tex
    assert r"\hyperref[\detokenize{index:fig-2}]" in tex
    assert r"\hyperref[\detokenize{index:fig-named}]" in tex

"""BibTeX downloads: the whole ``references.bib`` and each page's own reference list.

Under every ``{bibliography}`` list this adds a line linking to a ``.bib`` file with
exactly the entries of that list, copied verbatim from ``references.bib``; the
references page (whose list holds everything) links to the whole file. The files are
written at the end of an HTML build into ``<outdir>/bibtex/``.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes

BIB_FILE = Path(__file__).resolve().parents[3] / "references.bib"
OUT_DIR = "bibtex"
FULL_NAME = "references.bib"
_ENTRY_START = re.compile(r"^@(\w+)\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)


def bib_blocks(text: str) -> dict[str, str]:
    """Each entry's source text, by key (lower case), as written in the bib file."""
    starts = [
        m
        for m in _ENTRY_START.finditer(text)
        if m.group(1).lower() not in {"comment", "string", "preamble"}
    ]
    blocks = {}
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        blocks[m.group(2).lower()] = text[m.start() : end].strip() + "\n"
    return blocks


def page_file_name(docname: str) -> str:
    return docname.replace("/", "-") + ".bib"


def _link_paragraph(docname: str) -> nodes.paragraph:
    up = "../" * docname.count("/")
    if docname == "references":
        label, name, target = "下载全部参考文献（BibTeX）：", FULL_NAME, FULL_NAME
    else:
        label, name = "下载本页参考文献（BibTeX）：", page_file_name(docname)
        target = name
    para = nodes.paragraph(classes=["bibtex-download"])
    para += nodes.Text(label)
    para += nodes.reference(
        "", name, refuri=f"{up}{OUT_DIR}/{target}", classes=["bibtex-download-link"]
    )
    return para


def collect_bibliographies(app, doctree) -> None:
    """``doctree-read``: a download link under each page's bibliography."""
    from sphinxcontrib.bibtex.nodes import bibliography

    docname = app.env.docname
    for node in list(doctree.findall(bibliography)):
        node.parent.insert(node.parent.index(node) + 1, _link_paragraph(docname))


def page_keys(env) -> dict[str, list[str]]:
    """Keys (lower case, bib order) of the entries listed on each page."""
    domain = env.get_domain("cite")
    per_page: dict[str, list[str]] = {key.docname: [] for key in domain.bibliographies}
    for citation in domain.citations:
        keys = per_page.setdefault(citation.bibliography_key.docname, [])
        key = citation.entry.key.lower()
        if key not in keys:
            keys.append(key)
    return per_page


def write_downloads(app, exception) -> None:
    """``build-finished``: the whole bib file and one file per page that cites."""
    if (
        exception is not None
        or app.builder.format != "html"
        or "sphinxcontrib.bibtex" not in app.extensions
    ):
        return
    text = BIB_FILE.read_text(encoding="utf-8")
    blocks = bib_blocks(text)
    order = list(blocks)
    out = Path(app.outdir) / OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    (out / FULL_NAME).write_text(text, encoding="utf-8")
    for docname, keys in page_keys(app.env).items():
        if docname == "references":
            continue
        keys = sorted((k for k in keys if k in blocks), key=order.index)
        body = "\n".join(blocks[k] for k in keys)
        header = f"% 《深度生成模型综述代码本》页面 {docname} 引用的文献（{len(keys)} 条）\n\n"
        (out / page_file_name(docname)).write_text(header + body, encoding="utf-8")

"""Link the prose's ``图 N`` to the page's figure whose caption starts ``图 N　``.

The chapters number their figures by hand: a caption begins with ``图 N`` and an
ideographic space, and the prose says ``（图 2 左）`` or ``如图 3 右所示``. This transform
turns each such mention into an internal reference to the figure (giving the figure the id
``fig-N`` when it has none), so the HTML reader can click it and sphinx-tippy previews the
figure on hover, and the PDF gets a hyperlink. Captions, titles, code, math and existing
links are left alone (the glossary's list of such places). A number with no figure on the
page stays plain text without a warning: chapters also cite figures of the papers they
discuss (``综述的图 1``). ``每张图 16 个词元`` and ``图 4×4`` are not mentions.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms import SphinxTransform

from .glossary import _skip  # the same places as the glossary's links: captions, code, math, links

CAPTION = re.compile(r"图 (\d+)\u3000")
# "图" counted by "张" is a picture, and "图 4×4" a size, not a figure number
MENTION = re.compile(r"(?<!张)图 (\d+)(?![\d.]|\s*[×x])")


def figure_ids(document: nodes.document) -> dict[str, str]:
    """Figure number -> the figure's id, for each figure captioned ``图 N　``."""
    found: dict[str, str] = {}
    for figure in document.findall(nodes.figure):
        caption = next(iter(figure.findall(nodes.caption)), None)
        match = CAPTION.match(caption.astext()) if caption is not None else None
        if match is None or match[1] in found:
            continue
        if not figure["ids"]:
            wanted = f"fig-{match[1]}"
            if wanted in document.ids:
                document.set_id(figure)
            else:
                figure["ids"].append(wanted)
                document.ids[wanted] = figure
        found[match[1]] = figure["ids"][0]
    return found


def link_mentions(document: nodes.document) -> int:
    """Replace each ``图 N`` in running text with a link to figure N; returns how many."""
    targets = figure_ids(document)
    linked = 0
    if not targets:
        return linked
    for text in list(document.findall(nodes.Text)):
        if text.parent is None or _skip(text):
            continue
        value = str(text)
        parts: list[nodes.Node] = []
        pos = 0
        for match in MENTION.finditer(value):
            if match[1] not in targets:
                continue
            parts.append(nodes.Text(value[pos : match.start()]))
            parts.append(
                nodes.reference(
                    match[0],
                    match[0],
                    refid=targets[match[1]],
                    internal=True,
                    classes=["figure-mention"],
                )
            )
            pos = match.end()
            linked += 1
        if parts:
            parts.append(nodes.Text(value[pos:]))
            text.parent.replace(text, [p for p in parts if not isinstance(p, nodes.Text) or p])
    return linked


class LinkFigureMentions(SphinxTransform):
    """After parsing; before Sphinx's AutoNumbering (210) gives unnamed figures ``idN``."""

    default_priority = 200

    def apply(self, **kwargs) -> None:
        link_mentions(self.document)


def setup(app) -> dict:
    app.add_transform(LinkFigureMentions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

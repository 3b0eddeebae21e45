"""Join source lines that break between two Chinese characters.

Markdown turns a line break inside a paragraph into a space, which is right for English but
shows as a stray gap in Chinese ("一个信源 在无损前提下"). This transform removes a line break
(and the indentation after it) when the characters on both sides are CJK characters or
full-width punctuation, and leaves every other break alone.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

# Character classes used across the extension (one definition each):
HAN = r"\u3400-\u4dbf\u4e00-\u9fff"  # Chinese characters
# ... plus CJK and full-width punctuation and the curly quotes, dash and ellipsis of
# Chinese text: between two of these a source line break is no space.
_CJK = r"\u3000-\u303f" + HAN + r"\uff00-\uffef\u2018\u2019\u201c\u201d\u2014\u2026"
_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t]*\n[ \t]*(?=[{_CJK}])")
_SKIP = (nodes.literal_block, nodes.literal, nodes.math, nodes.math_block, nodes.raw)
_IS_CJK = re.compile(rf"[{_CJK}]")


def join_cjk_lines(text: str) -> str:
    """``"一个信源\\n在无损"`` → ``"一个信源在无损"``; ``"of\\nthe"`` is left unchanged."""
    return _BREAK.sub("", text)


class JoinCJKLines(SphinxPostTransform):
    # A post-transform: cross-references are resolved by now, so a link's final text
    # (often Chinese) decides whether the break before it is joined.
    default_priority = 900

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(nodes.Text)):
            parent = node.parent
            if parent is None or isinstance(parent, _SKIP):
                continue
            text = str(node)
            if text.strip() == "" and "\n" in text:
                # MyST keeps a soft line break as its own text node between two others
                # (e.g. after a citation or inline markup): look at the neighbours.
                # Text nodes compare equal by content, so find this one by identity.
                index = next(i for i, child in enumerate(parent.children) if child is node)
                before = "".join(child.astext() for child in parent[:index])
                after = "".join(child.astext() for child in parent[index + 1 :])
                if before and after and _IS_CJK.match(before[-1]) and _IS_CJK.match(after[0]):
                    del parent.children[index]
                continue
            joined = join_cjk_lines(text)
            if joined != text:
                parent.replace(node, nodes.Text(joined))
        for ref in list(self.document.findall(nodes.reference)):
            _tighten_around(ref)


def _tighten_around(ref: nodes.Element) -> None:
    """Drop a space typed between Chinese text and a link whose text is Chinese
    (``示例 {ref}`...``` renders as "示例 自编码器的三种结构"); Chinese takes no space there."""
    parent, label = ref.parent, ref.astext()
    if parent is None or not label:
        return
    index = next(i for i, child in enumerate(parent.children) if child is ref)
    if index > 0 and _IS_CJK.match(label[0]):
        before = parent[index - 1]
        text = str(before)
        if isinstance(before, nodes.Text) and re.search(rf"[{_CJK}] +$", text):
            parent.replace(before, nodes.Text(text.rstrip(" ")))
    if index + 1 < len(parent) and _IS_CJK.match(label[-1]):
        after = parent[index + 1]
        text = str(after)
        if isinstance(after, nodes.Text) and re.match(rf" +[{_CJK}]", text):
            parent.replace(after, nodes.Text(text.lstrip(" ")))

"""Figure style shared by every example: a CJK font, image grids, and the survey's diagrams.

Matplotlib's default font has no Chinese glyphs and silently draws boxes ("tofu"); the
project registers Noto Sans CJK SC, which ships inside the ``mplfonts`` package, so figures
render Chinese without any system font or download.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import numpy as np
import torch

from ._checks import check_positive_int

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
CJK_FONT_NAME = "Noto Sans CJK SC"
MISSING_GLYPH_WARNING = r"Glyph .* missing from"


def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK SC font file shipped by the ``mplfonts`` package."""
    import mplfonts

    path = Path(mplfonts.__file__).parent / "fonts" / CJK_FONT_FILE
    if not path.exists():
        raise FileNotFoundError(f"CJK font not found at {path}; reinstall mplfonts")
    return path


def use_style(strict_glyphs: bool = True) -> None:
    """Apply the project's figure style and register the CJK font.

    With ``strict_glyphs`` a glyph missing from the font (a box in the figure) raises
    instead of passing as a warning, so a broken figure fails the build.
    """
    from matplotlib import font_manager

    path = str(cjk_font_path())
    if path not in {f.fname for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(path)
    matplotlib.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [CJK_FONT_NAME, "DejaVu Sans"],
            "axes.unicode_minus": False,  # the CJK font has no U+2212 minus sign
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.figsize": (6.4, 4.0),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "image.cmap": "gray_r",
        }
    )
    if strict_glyphs:
        warnings.filterwarnings("error", message=MISSING_GLYPH_WARNING)


def reset_for_example(gallery_conf: dict, fname: str, when: str | None = None) -> None:
    """sphinx-gallery ``reset_modules`` hook run around every example.

    sphinx-gallery's own matplotlib reset calls ``plt.rcdefaults()``, which drops the CJK
    font; this hook calls :func:`survey_models.setup_example` (seed 0), the same set-up
    every example runs first, so the build and a reader running the script alone start
    from the same state.
    """
    from .example import setup_example

    setup_example(0)


def image_grid(
    images: torch.Tensor | np.ndarray,
    ncols: int = 10,
    ax=None,
    side: int = 8,
    title: str | None = None,
    pad: int = 1,
    vmin: float = 0.0,
    vmax: float = 1.0,
):
    """Draw (n, side*side) or (n, side, side) images as one tiled picture on ``ax``."""
    import matplotlib.pyplot as plt

    ncols = check_positive_int("ncols", ncols)
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.ndim == 2:
        if arr.shape[1] != side * side:
            raise ValueError(
                f"images must have {side * side} columns for side={side}, got shape {arr.shape}"
            )
        arr = arr.reshape(-1, side, side)
    if arr.ndim != 3:
        raise ValueError(f"images must be (n, {side * side}) or (n, side, side), got {arr.shape}")
    n = arr.shape[0]
    nrows = -(-n // ncols)
    canvas = np.full((nrows * (side + pad) + pad, ncols * (side + pad) + pad), np.nan)
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[
            pad + r * (side + pad) : pad + r * (side + pad) + side,
            pad + c * (side + pad) : pad + c * (side + pad) + side,
        ] = arr[i]
    if ax is None:
        _, ax = plt.subplots(figsize=(ncols * 0.6, nrows * 0.6 + 0.4))
    ax.imshow(canvas, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def draw_autoencoder_diagram(
    n_input: int, n_hidden: int, ax=None, max_drawn: int = 8, title: str | None = None
):
    """Draw the survey's 图 1: a traditional autoencoder, input x → hidden h → output y.

    Layers are columns of circles (at most ``max_drawn`` shown, with an ellipsis for the
    rest); the encoder ``h = σ_e(W1 x + b1)`` and decoder ``y = σ_d(W2 h + b2)`` connect
    them. The hidden column is drawn shorter or taller than the input to show the
    compressed, sparse or equal-dimension structure.
    """
    import matplotlib.pyplot as plt

    n_input = check_positive_int("n_input", n_input)
    n_hidden = check_positive_int("n_hidden", n_hidden)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    largest = max(n_input, n_hidden)

    def shown(n: int) -> int:
        # Drawn count proportional to the layer width so the shape of the network shows.
        return max(2, round(max_drawn * n / largest))

    columns = [
        ("输入层 x", n_input, shown(n_input)),
        ("隐藏层 h", n_hidden, shown(n_hidden)),
        ("输出层 y", n_input, shown(n_input)),
    ]
    colours = ["#4C72B0", "#DD8452", "#55A868"]
    positions = []
    for i, (label, n_true, n_draw) in enumerate(columns):
        ys = np.linspace(-(n_draw - 1) / 2, (n_draw - 1) / 2, n_draw)
        positions.append(ys)
        ax.scatter(
            np.full(n_draw, i * 2.0), ys, s=260, color=colours[i], zorder=3, edgecolor="black"
        )
        ax.text(
            i * 2.0,
            (max_drawn + 1) / 2 + 0.3,
            f"{label}\n({n_true} 维)",
            ha="center",
            va="bottom",
            fontsize=10,
        )
    for i in range(2):
        for y0 in positions[i]:
            for y1 in positions[i + 1]:
                ax.plot([i * 2.0, (i + 1) * 2.0], [y0, y1], color="gray", lw=0.5, zorder=1)
    low = -(max_drawn + 1) / 2 - 0.3
    ax.text(2.0, low, "编码  $h=\\sigma_e(W_1x+b_1)$", ha="center", va="top", fontsize=9)
    ax.text(2.0, low - 0.9, "解码  $y=\\sigma_d(W_2h+b_2)$", ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.8, 4.8)
    ax.set_ylim(low - 2.0, (max_drawn + 1) / 2 + 1.6)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax

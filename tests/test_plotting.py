import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from survey_models import plotting  # noqa: E402


def test_cjk_font_draws_chinese_without_missing_glyphs(tmp_path):
    plotting.use_style()
    fig, ax = plt.subplots()
    ax.set_title("自编码器的重构误差")
    ax.set_xlabel("隐藏层宽度")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph warns; make it fail here
        fig.savefig(tmp_path / "cjk.png")
    plt.close(fig)
    assert plotting.CJK_FONT_NAME in matplotlib.rcParams["font.sans-serif"]


def test_missing_glyph_is_an_error_under_the_project_style(tmp_path):
    # Without the CJK font, Chinese has no glyph: the project's filter turns that into an error.
    plotting.use_style()
    fig, ax = plt.subplots()
    ax.set_title("生成", family="DejaVu Sans")
    with pytest.raises(UserWarning, match="missing from"):
        fig.savefig(tmp_path / "tofu.png")
    plt.close(fig)


def test_image_grid_tiles_images_in_order():
    imgs = torch.arange(3 * 64, dtype=torch.float32).reshape(3, 64) / (3 * 64)
    ax = plotting.image_grid(imgs, ncols=2, pad=1)
    canvas = ax.get_images()[0].get_array()
    assert canvas.shape == (2 * 9 + 1, 2 * 9 + 1)
    np.testing.assert_allclose(canvas[1:9, 10:18], imgs[1].reshape(8, 8).numpy())
    assert np.isnan(np.asarray(canvas.filled(np.nan))[10:18, 10:18]).all()  # empty slot
    plt.close("all")
    with pytest.raises(ValueError, match="images"):
        plotting.image_grid(torch.zeros(3, 10))


def test_autoencoder_diagram_draws_three_layers():
    plotting.use_style()
    ax = plotting.draw_autoencoder_diagram(64, 16)
    texts = [t.get_text() for t in ax.texts]
    assert any("输入层" in t and "64" in t for t in texts)
    assert any("隐藏层" in t and "16" in t for t in texts)
    assert len(ax.collections) == 3  # one scatter per layer
    plt.close("all")
    with pytest.raises(ValueError, match="n_hidden"):
        plotting.draw_autoencoder_diagram(64, 0)

import os
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


def _draws() -> tuple[float, float, float]:
    import random

    return random.random(), float(np.random.rand()), torch.rand(1).item()


@pytest.fixture
def restored_threads(monkeypatch):
    """setup_example changes process-wide thread settings: put them back after the test."""
    from threadpoolctl import threadpool_limits

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, os.environ.get(name, "2"))
    threads = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores the libraries' limits on exit
        yield
    torch.set_num_threads(threads)


def test_setup_example_closes_figures_styles_pins_a_thread_and_seeds(restored_threads, monkeypatch):
    from threadpoolctl import threadpool_info

    from survey_models import setup_example, train

    monkeypatch.setenv("SURVEY_DEVICE", "cpu")  # the device choice itself: tests/test_device.py
    plt.figure()
    matplotlib.rcParams["lines.linewidth"] = 7.0
    torch.set_num_threads(2)
    device = setup_example(3)
    assert device == torch.device("cpu")
    assert plt.get_fignums() == []
    assert matplotlib.rcParams["lines.linewidth"] == matplotlib.rcParamsDefault["lines.linewidth"]
    assert matplotlib.rcParams["font.sans-serif"][0] == plotting.CJK_FONT_NAME
    assert torch.get_num_threads() == 1
    assert {lib["num_threads"] for lib in threadpool_info()} == {1}  # NumPy's BLAS too
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"  # for a BLAS loaded later
    after_setup = _draws()
    train.set_seed(3)
    assert _draws() == after_setup  # Python, NumPy and PyTorch all seeded with 3
    with pytest.raises(ValueError, match="seed"):
        setup_example(-1)


def test_the_build_hook_gives_the_set_up_of_a_script_run_alone(restored_threads):
    # plotting.reset_for_example (sphinx-gallery's hook) must leave the state that an
    # example's own ``setup_example()`` call leaves, so the build's numbers are the script's.
    from threadpoolctl import threadpool_info

    from survey_models import setup_example

    def state():
        return (
            _draws(),
            torch.get_num_threads(),
            dict(matplotlib.rcParams),
            [lib["num_threads"] for lib in threadpool_info()],
        )

    plotting.reset_for_example({}, "gallery/x/plot_x.py", "before")
    from_hook = state()
    setup_example()
    assert state() == from_hook


def test_example_seed_reads_survey_seed(monkeypatch, restored_threads):
    from survey_models import example_seed, setup_example, train

    monkeypatch.delenv("SURVEY_SEED", raising=False)
    assert example_seed() == 0  # the seed the book is built with
    monkeypatch.setenv("SURVEY_SEED", " 4 ")
    assert example_seed() == 4
    setup_example()  # no argument: the variable's seed
    after_setup = _draws()
    train.set_seed(4)
    assert _draws() == after_setup
    setup_example(2)  # an explicit seed wins over the variable
    after_explicit = _draws()
    train.set_seed(2)
    assert _draws() == after_explicit
    for bad in ("-1", "1.5", "four"):
        monkeypatch.setenv("SURVEY_SEED", bad)
        with pytest.raises(ValueError, match="SURVEY_SEED"):
            example_seed()

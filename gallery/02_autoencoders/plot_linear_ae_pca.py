"""
线性自编码器与主成分分析
========================

论断（Baldi 与 Hornik 1989）：激活函数为恒等映射的单隐层自编码器，其平方误差的
全局最优解把输入投影到前 :math:`k` 个主成分张成的子空间上，且误差曲面上没有其他局部
极小。因此，训练好的线性自编码器的解码器权重 :math:`W_2` 的列空间应当与 PCA 的前
:math:`k` 个主方向张成的子空间重合。

本例在 8×8 手写数字上训练隐藏层为 8 的线性自编码器，用两个子空间之间的
**主角度** （principal angles）衡量二者是否一致：最大主角度小于 1° 即视为重合。
"""

# %%
# 数据与 PCA
# ----------
# 训练集为 70% 的数字图像（1258 张）。先用奇异值分解求出前 8 个主方向，以及
# 投影到这个子空间的重构误差——它是任何秩为 8 的线性映射在训练集上能达到的最小误差。
import time

import matplotlib.pyplot as plt
import torch

from survey_models import data, example_seed, setup_example, train
from survey_models.autoencoders import (
    decoder_subspace,
    linear_autoencoder,
    pca_reconstruction_error,
    pca_subspace,
    principal_angles,
    reconstruction_loss,
)
from survey_models.plotting import image_grid
from survey_models.report import report

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
split = data.digits_split(test_fraction=0.3, seed=0)
x = split.x_train
k = 8
pca_basis = pca_subspace(x, k)
pca_error = pca_reconstruction_error(x, x, k)
print(f"PCA（k={k}）在训练集上的重构误差：{pca_error:.4f}")

# %%
# 训练线性自编码器
# ----------------
# 线性自编码器就是 :class:`~survey_models.autoencoders.Autoencoder` 把两个激活函数换成
# 恒等映射。为了让优化真正收敛到最优解，这里用全批量 Adam（学习率 0.03，2000 轮）：
# 小批量梯度的噪声会让模型停在最优子空间附近晃动，而后几个主成分的特征值相差很小，
# 晃动会表现为可观的主角度。
train.set_seed(seed)
model = linear_autoencoder(64, k)
start = time.perf_counter()
history = train.fit(
    model, reconstruction_loss, x, epochs=2000, batch_size=len(x), lr=3e-2, seed=seed
)
print(f"训练用时 {time.perf_counter() - start:.1f} s")
with torch.no_grad():
    ae_error = reconstruction_loss(model, x).item()
print(f"线性自编码器在训练集上的重构误差：{ae_error:.6f}（PCA 为 {pca_error:.6f}）")

# %%
# 测量：主角度
# ------------
# 两个 :math:`k` 维子空间的主角度是 :math:`Q_a^\top Q_b` 的奇异值的反余弦，
# 其中 :math:`Q_a, Q_b` 是两组基正交化后的矩阵；全部为 0 表示两个子空间相同。
angles = principal_angles(decoder_subspace(model), pca_basis)
print("主角度（度）：", [round(a, 4) for a in angles.tolist()])
report(
    "线性自编码器与 PCA 子空间的最大主角度",
    angles.max().item(),
    key="max_angle",
    unit="度",
    claim="线性自编码器的最优解张成 PCA 的主子空间（Baldi & Hornik 1989）",
    target="< 1 度",
    passed=angles.max().item() < 1.0,
)
print(f"训练误差之差（自编码器 - PCA）：{ae_error - pca_error:.2e}")

# %%
# 图：误差曲线与学到的基
# ----------------------
# 左图是训练误差与 PCA 下界之差（对数坐标，小于 1e-6 的差按 1e-6 画）；曲线上的尖峰是
# 大学习率下 Adam 的短暂失稳，每次都很快回落。右上是 PCA 的 8 个主方向，右下是自编码器
# 解码器 :math:`W_2` 的 8 列。两组基张成同一子空间，但自编码器的基不必正交，也不必按方差
# 排序——它可以是主成分的任意可逆线性组合，所以单看图像并不相同。
fig = plt.figure(figsize=(10, 4))
ax = fig.add_subplot(1, 2, 1)
gap = torch.tensor(history.train_loss) - pca_error
ax.semilogy(range(1, len(gap) + 1), gap.clamp_min(1e-6).tolist())
ax.set_xlabel("训练轮数")
ax.set_ylabel("训练误差 - PCA 误差（平方误差/图）")
ax.set_title("线性自编码器的误差收敛到 PCA 的下界")
ax_top = fig.add_subplot(2, 2, 2)
ax_bottom = fig.add_subplot(2, 2, 4)


def normalise(basis: torch.Tensor) -> torch.Tensor:
    b = basis.T
    return (b - b.amin(1, keepdim=True)) / (b.amax(1, keepdim=True) - b.amin(1, keepdim=True))


image_grid(normalise(pca_basis.float()), ncols=k, ax=ax_top, title="PCA 的前 8 个主方向")
image_grid(
    normalise(model.decoder_linear.weight.detach()),
    ncols=k,
    ax=ax_bottom,
    title="线性自编码器解码器 W2 的 8 列",
)
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 最大主角度远小于 1°，训练误差与 PCA 投影误差几乎相等：线性自编码器重新发现了 PCA
# 的子空间，这正是 Baldi 与 Hornik 的结论。线性自编码器因此并不比 PCA 强；要学到
# 更好的表示，需要非线性、更深的网络，以及本章后面的各种正则化。

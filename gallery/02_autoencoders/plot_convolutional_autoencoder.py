"""
卷积自编码器
============

论断（Masci 等 2011）：卷积自编码器在图像各位置共享小卷积核并做池化，保留了图像的
局部结构，参数数目不随图像大小增长；与全连接自编码器相比，它用更少的参数达到同样的
重构误差。

本例训练一个两层卷积（各 8 个 3×3 卷积核，2×2 最大池化）的自编码器，再训练一组隐藏层
宽度不同的全连接自编码器，测量：全连接自编码器要达到卷积自编码器的测试重构误差，
需要多少参数。
"""

# %%
# 训练
# ----
# 两种模型都接受展平的 64 维图像，共用同一个损失
# :func:`~survey_models.autoencoders.reconstruction_loss` 与训练循环（100 轮，Adam，学习率 3e-3）。
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from survey_models import data, example_seed, setup_example, train
from survey_models.autoencoders import Autoencoder, ConvAutoencoder, reconstruction_loss
from survey_models.plotting import image_grid
from survey_models.report import report
from survey_models.train import count_parameters

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
split = data.digits_split(test_fraction=0.3, seed=0)
x_test = split.x_test


def train_and_measure(model: torch.nn.Module) -> float:
    train.set_seed(seed)
    train.fit(model, reconstruction_loss, split.x_train, epochs=100, lr=3e-3, seed=seed)
    with torch.no_grad():
        return reconstruction_loss(model, x_test).item()


start = time.perf_counter()
train.set_seed(seed)
conv = ConvAutoencoder(channels=(8, 8))
conv_error = train_and_measure(conv)
conv_params = count_parameters(conv)
print(f"卷积自编码器：参数 {conv_params}，编码 {conv.code_size} 维，测试误差 {conv_error:.3f}")

dense = {}
for width in (8, 10, 12, 14, 16, 20):
    train.set_seed(seed)
    model = Autoencoder(64, width)
    dense[width] = (count_parameters(model), train_and_measure(model), model)
    print(
        f"全连接自编码器（隐藏层 {width}）：参数 {dense[width][0]}，测试误差 {dense[width][1]:.3f}"
    )
print(f"共用时 {time.perf_counter() - start:.1f} s")

# %%
# 测量：同等误差所需的参数
# ------------------------
# 全连接自编码器的误差随参数增加而单调下降；在相邻两个宽度之间按误差线性插值，
# 得到与卷积自编码器误差相同时的参数数目。
params = np.array([v[0] for v in dense.values()], dtype=float)
errs = np.array([v[1] for v in dense.values()])
matched = float(np.interp(conv_error, errs[::-1], params[::-1]))
enough = [w for w, v in dense.items() if v[1] <= conv_error]
print(
    f"全连接自编码器达到误差 {conv_error:.3f} 约需 {matched:.0f} 个参数；"
    f"扫描中第一个不差于卷积模型的宽度是 {enough[0] if enough else '无'}"
)
report("卷积自编码器的参数个数", conv_params, key="conv_params", claim="只记录：卷积自编码器的大小")
report(
    "全连接自编码器达到同等误差所需的参数（插值）",
    matched,
    key="matched_params",
    claim="只记录：在相邻宽度之间按误差线性插值",
)
report(
    "全连接 / 卷积 自编码器在同等误差下的参数之比",
    matched / conv_params,
    key="param_ratio",
    unit="倍",
    claim="卷积自编码器以更少参数达到同样的重构误差（Masci 等 2011）",
    target="> 1",
    passed=matched > conv_params and bool(enough) and dense[enough[0]][0] > conv_params,
)

# %%
# 图：误差与参数
# --------------
fig, (ax, ax_img) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 1.1]})
ax.plot(params, errs, "o-", label="全连接自编码器（隐藏层 8~20）")
for w, (p, e, _) in dense.items():
    ax.annotate(str(w), (p, e), textcoords="offset points", xytext=(4, 4), fontsize=8)
ax.plot([conv_params], [conv_error], "r*", markersize=14, label="卷积自编码器 (8, 8)")
ax.axhline(conv_error, color="r", ls=":", lw=1)
ax.set_xlabel("参数个数")
ax.set_ylabel("测试重构误差（平方误差/图）")
ax.set_title("同等误差下卷积模型的参数更少")
ax.legend()
with torch.no_grad():
    show = x_test[:10]
    grid = torch.cat([show, conv(show), dense[enough[0] if enough else 20][2](show)])
image_grid(
    grid,
    ncols=10,
    ax=ax_img,
    title=f"上：原图；中：卷积重构；下：全连接（隐藏层 {enough[0] if enough else 20}）重构",
)
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 在 8×8 的小图上，卷积自编码器的参数优势只有百分之几十：图像太小，全连接层本身也不大。
# 参数共享的好处随图像增大而增长——全连接层的参数与像素数成正比，卷积层的参数与图像
# 大小无关。注意卷积模型的编码（32 维）比匹配的全连接模型更宽，比较的是参数而不是编码长度。

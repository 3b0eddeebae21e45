"""
自编码器的三种结构：压缩、等维与稀疏
====================================

综述把传统自编码器按隐藏层宽度分为三种结构：隐藏层比输入层窄的 压缩结构，
与输入层等宽的 等维结构，比输入层宽的 稀疏结构（过完备）。

论断（Bengio 等 2007；Vincent 等 2008；袁非牛 等 2019）：不加正则的等维或过完备
自编码器可以逼近恒等映射，于是干净输入上的重构误差最低，却学不到数据的结构——
输入被部分遮挡时，它“照抄”损坏的像素，误差反而最大。

本例在 scikit-learn 自带的 8×8 手写数字上训练三种宽度（16、64、256）的自编码器，
测量：干净测试集的重构误差、25% 像素被置零时相对于干净图像的误差，以及对小扰动的
“放大倍数” :math:`\\lVert y(x+\\delta)-y(x)\\rVert / \\lVert\\delta\\rVert`
（恒等映射为 1，把扰动投回数据流形的模型小于 1）。
"""

# %%
# 准备数据与图 1
# --------------
# 数字图像被缩放到 [0, 1]，按类别分层，70% 训练、30% 测试，划分由种子固定。
# 先用包里的绘图函数画出综述的图 1：三种结构只差隐藏层的宽度。
import time

import matplotlib.pyplot as plt
import torch

from survey_models import data, example_seed, setup_example, train
from survey_models.autoencoders import Autoencoder, reconstruction_loss
from survey_models.plotting import draw_autoencoder_diagram, image_grid
from survey_models.report import report

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
split = data.digits_split(test_fraction=0.3, seed=0)
print(f"训练集 {tuple(split.x_train.shape)}，测试集 {tuple(split.x_test.shape)}")

widths = {"压缩结构": 16, "等维结构": 64, "稀疏结构": 256}
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for ax, (name, width) in zip(axes, widths.items()):
    draw_autoencoder_diagram(64, width, ax=ax, title=f"{name}（隐藏层 {width}）")
fig.suptitle("图 1　传统自编码器网络结构图（由代码绘制）")
fig.tight_layout()

# %%
# 训练三种结构
# ------------
# 三个模型共用同一个训练循环 :func:`survey_models.train.fit`、同样的超参数与种子：
# Adam，学习率 3e-3，批大小 64，200 轮。
models = {}
start = time.perf_counter()
for name, width in widths.items():
    model = Autoencoder(n_input=64, n_hidden=width)
    train.set_seed(seed)
    history = train.fit(
        model, reconstruction_loss, split.x_train, epochs=200, lr=3e-3, batch_size=64, seed=seed
    )
    models[name] = model
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"{name}: 隐藏层 {width}，参数 {n_params}，训练损失 {history.train_loss[0]:.2f}"
        f" → {history.final_train_loss:.3f}，用时 {history.seconds:.1f} s"
    )
print(f"三个模型共用时 {time.perf_counter() - start:.1f} s")

# %%
# 测量：干净误差、遮挡误差与扰动放大倍数
# --------------------------------------
# 误差是每张图 64 个像素的平方误差之和，对测试集取平均。
x_test = split.x_test
masked = data.mask_pixels(x_test, 0.25, generator=torch.Generator().manual_seed(seed + 1))
delta = 0.1 * torch.randn(x_test.shape, generator=torch.Generator().manual_seed(seed + 2))

results = {}
with torch.no_grad():
    for name, model in models.items():
        clean = ((model(x_test) - x_test) ** 2).sum(1).mean().item()
        corrupted = ((model(masked) - x_test) ** 2).sum(1).mean().item()
        gain = (
            ((model(x_test + delta) - model(x_test)).norm(dim=1) / delta.norm(dim=1)).mean().item()
        )
        results[name] = (clean, corrupted, gain)
        print(f"{name}: 干净误差 {clean:.3f}，遮挡 25% 误差 {corrupted:.3f}，扰动放大 {gain:.3f}")

over = results["稀疏结构"]
report(
    "过完备自编码器的干净测试误差",
    over[0],
    key="over_clean",
    unit="平方误差/图",
    claim="过完备（稀疏结构）自编码器在干净输入上误差最低",
    target="三种结构中最低",
    passed=over[0] == min(r[0] for r in results.values()),
)
report(
    "过完备自编码器的遮挡输入误差",
    over[1],
    key="over_masked",
    unit="平方误差/图",
    claim="过完备自编码器接近恒等映射，遮挡 25% 像素时误差最大",
    target="三种结构中最高",
    passed=over[1] == max(r[1] for r in results.values()),
)

# %%
# 重构效果
# --------
# 第一行是测试图像，第二行是遮挡后的输入，后三行分别是三种结构对遮挡输入的重构。
fig, axes = plt.subplots(5, 1, figsize=(7, 5.2))
show = slice(0, 12)
image_grid(x_test[show], ncols=12, ax=axes[0], title="原图")
image_grid(masked[show], ncols=12, ax=axes[1], title="遮挡 25% 像素的输入")
with torch.no_grad():
    for ax, (name, model) in zip(axes[2:], models.items()):
        image_grid(model(masked[show]), ncols=12, ax=ax, title=f"{name} 的重构")
fig.tight_layout()

# %%
# 误差对比
# --------
fig, ax = plt.subplots(figsize=(6.4, 3.6))
names = list(results)
xs = torch.arange(len(names)).float()
ax.bar(xs - 0.2, [results[n][0] for n in names], width=0.4, label="干净输入")
ax.bar(xs + 0.2, [results[n][1] for n in names], width=0.4, label="遮挡 25% 像素")
ax.set_xticks(xs.tolist(), [f"{n}\n(隐藏层 {widths[n]})" for n in names])
ax.set_ylabel("测试重构误差（平方误差/图）")
ax.set_title("隐藏层越宽，干净误差越低，对损坏输入越脆弱")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 过完备自编码器的干净误差最低，遮挡误差却最高，扰动放大倍数也最接近 1：
# 没有正则时，更多的隐藏单元首先被用来更忠实地复制输入，而不是学习数字的结构。
# 这正是第 2 章后半部分的稀疏、去噪、收缩等正则化自编码器要解决的问题。

"""
稀疏自编码器：KL 散度稀疏约束
==============================

论断（Ng 的 CS294A 稀疏自编码器讲义；袁非牛 等 2019）：在过完备的隐藏层上加
KL 散度稀疏惩罚 :math:`\\beta\\sum_j \\mathrm{KL}(\\rho\\,\\|\\,\\hat\\rho_j)`，可以把每个隐藏单元在
数据上的平均激活 :math:`\\hat\\rho_j` 压到目标值 :math:`\\rho` 附近，使过完备的隐藏层不再照抄输入。

本例在 8×8 数字上训练隐藏层为 100 的 sigmoid 自编码器，:math:`\\rho=0.05`、:math:`\\beta=3`，
测量测试集上的平均隐藏激活是否落在 :math:`\\rho\\pm 0.01` 之内，并画出学到的特征。
"""

# %%
# 训练：同一个自编码器，两种损失
# ------------------------------
# 稀疏自编码器与普通自编码器是同一个类 :class:`~survey_models.autoencoders.Autoencoder`，
# 只是交给训练循环的损失函数不同：
# :class:`~survey_models.autoencoders.SparseLoss` 在重构误差上加 KL 稀疏项。
import time

import matplotlib.pyplot as plt
import torch

from survey_models import data, example_seed, setup_example, train
from survey_models.autoencoders import Autoencoder, SparseLoss, mean_activation, reconstruction_loss
from survey_models.plotting import image_grid
from survey_models.report import report

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
split = data.digits_split(test_fraction=0.3, seed=0)
rho, beta, n_hidden = 0.05, 3.0, 100

models = {}
start = time.perf_counter()
for name, loss in (
    ("普通自编码器", reconstruction_loss),
    ("稀疏自编码器", SparseLoss(sparsity_target=rho, sparsity_weight=beta)),
):
    train.set_seed(seed)
    model = Autoencoder(64, n_hidden)
    train.fit(model, loss, split.x_train, epochs=200, lr=3e-3, seed=seed)
    models[name] = model
print(f"两个模型共用时 {time.perf_counter() - start:.1f} s")

# %%
# 测量：平均激活与重构误差
# ------------------------
# :math:`\hat\rho_j` 是隐藏单元 :math:`j` 在全部测试图像上的平均激活。
x_test = split.x_test
with torch.no_grad():
    stats = {}
    for name, model in models.items():
        rho_hat = mean_activation(model, x_test)
        h = model.encode(x_test)
        stats[name] = dict(rho_hat=rho_hat, h=h, error=reconstruction_loss(model, x_test).item())
        print(
            f"{name}：平均激活 {rho_hat.mean():.4f}（单元间 {rho_hat.min():.3f} ~ "
            f"{rho_hat.max():.3f}），测试重构误差 {stats[name]['error']:.3f}"
        )

sparse_mean = stats["稀疏自编码器"]["rho_hat"].mean().item()
report(
    "稀疏自编码器的平均隐藏激活",
    sparse_mean,
    key="mean_activation",
    claim="KL 稀疏惩罚把平均激活压到目标 rho（Ng, CS294A）",
    target=f"{rho} +- 0.01",
    passed=abs(sparse_mean - rho) <= 0.01,
)
report(
    "稀疏约束的代价：测试重构误差",
    stats["稀疏自编码器"]["error"],
    key="sparse_error",
    unit="平方误差/图",
    claim="稀疏约束以更高的重构误差换取稀疏的编码",
    target=f"普通自编码器为 {stats['普通自编码器']['error']:.3f}",
)
report(
    "普通自编码器的测试重构误差",
    stats["普通自编码器"]["error"],
    key="plain_error",
    unit="平方误差/图",
    claim="只记录：稀疏代价的参照",
)
report(
    "测试重构误差之比（稀疏 / 普通）",
    stats["稀疏自编码器"]["error"] / stats["普通自编码器"]["error"],
    key="error_ratio",
    unit="倍",
    claim="稀疏约束的代价：重构误差成倍上升",
)
share_small = (stats["稀疏自编码器"]["h"] < 0.05).float().mean().item()
print(
    f"稀疏自编码器中小于 0.05 的激活占 {100 * share_small:.1f}%；"
    f"普通自编码器中占 {100 * (stats['普通自编码器']['h'] < 0.05).float().mean():.1f}%"
)

# %%
# 图：学到的特征与激活分布
# ------------------------
# 每个小图是一个隐藏单元的输入权重 :math:`W_1` 的一行，按各自的最小、最大值归一化。
fig = plt.figure(figsize=(11, 6.5))
for i, (name, model) in enumerate(models.items()):
    ax = fig.add_subplot(2, 2, i + 1)
    w = model.encoder_linear.weight.detach()[:50]
    w = (w - w.amin(1, keepdim=True)) / (w.amax(1, keepdim=True) - w.amin(1, keepdim=True))
    image_grid(w, ncols=10, ax=ax, title=f"{name}：50 个隐藏单元的特征")
ax = fig.add_subplot(2, 2, 3)
for name in models:
    ax.hist(stats[name]["rho_hat"].numpy(), bins=30, alpha=0.6, label=name)
ax.axvline(rho, color="k", ls="--", label=f"目标 rho = {rho}")
ax.set_xlabel("隐藏单元的平均激活")
ax.set_ylabel("单元个数")
ax.set_title("每个隐藏单元的平均激活")
ax.legend()
ax = fig.add_subplot(2, 2, 4)
for name in models:
    ax.hist(stats[name]["h"].flatten().numpy(), bins=50, alpha=0.6, label=name)
ax.set_yscale("log")
ax.set_xlabel("单个隐藏激活的取值")
ax.set_ylabel("个数（对数）")
ax.set_title("测试集上全部隐藏激活的分布")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# KL 惩罚把平均激活准确地压到了目标值附近。特征图比普通自编码器的更平滑、多呈斑块状，
# 但 8×8 的图像太小，看不到讲义中自然图像块上那样清晰的边缘检测器。代价是更高的重构误差。
# 还要注意：KL 项只约束 **平均** 激活，
# 它并不保证每张图只有少数单元接近 1——激活分布图显示大部分激活都很小，
# 这才是“稀疏”在这里的实际含义。

"""
上下文学习：Transformer 在提示里做线性回归
==========================================

上下文学习（in-context learning）指模型不更新权重，只读提示里的几个示例就完成新任务。
Garg 等人把它放进一个可控的实验：每条提示来自一个随机线性函数
:math:`y = w^\\top x`\\ （:math:`w, x \\sim \\mathcal N(0, I_d)`\\ ），提示是
:math:`(x_1, y_1, \\dots, x_k, y_k, x_{\\mathrm{query}})`，模型要预测 :math:`y_{\\mathrm{query}}`。

**论断**\\ （Garg 等 2022）：在这类提示上训练的 Transformer，其上下文误差随示例数
:math:`k` 下降，:math:`k \\ge d` 时接近最小二乘的误差，并优于一步梯度下降等更简单的估计；
von Oswald 等 2023 指出一层线性自注意力恰好能实现一步梯度下降。

本例取 :math:`d = 3`、每条提示最多 7 个点（:math:`k = 0 \\sim 6`），标签加标准差 0.25 的
噪声（否则 :math:`k \\ge d` 时最小二乘误差为 0，比值无意义），训练一个 2 层、宽 32 的因果
Transformer 800 步，在 2000 条新提示上按 :math:`k` 测量归一化平方误差（除以 :math:`d`，
零预测器约为 1），与最小二乘、一步梯度下降（每个 :math:`k` 在训练提示上取最优步长）和零预测器
比较。目标（预先声明）：:math:`k = 2d` 时 Transformer 的误差不超过最小二乘的 2 倍，且低于一步梯度
下降。相对论文（:math:`d = 20`、50 万步、12 层）规模缩小了几个数量级。
"""

# %%
# 数据：随机线性函数的提示
# ------------------------
import matplotlib.pyplot as plt
import torch

from survey_models import example_seed, setup_example
from survey_models.in_context import (
    InContextRegressor,
    best_gd_lr,
    error_by_position,
    gd_step_predict,
    in_context_loss,
    least_squares_predict,
    linear_regression_prompts,
    prefix_predictions,
    zero_predict,
)
from survey_models.report import report
from survey_models.train import fit

device = setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
dim, n_points, noise = 3, 7, 0.25
g = torch.Generator().manual_seed(seed)
x_train, y_train, _ = linear_regression_prompts(20000, n_points, dim, g, noise=noise)
x_test, y_test, _ = linear_regression_prompts(2000, n_points, dim, g, noise=noise)
print(
    f"训练提示 {x_train.shape[0]} 条，测试提示 {x_test.shape[0]} 条，每条 {n_points} 个点，d = {dim}"
)

# %%
# 训练：每个 y 位置都算平方误差
# ------------------------------
# :class:`survey_models.in_context.InContextRegressor` 把每个 :math:`x_i` 和 :math:`y_i`
# 各作为一个词元，因果注意力保证第 :math:`i` 个预测只看到前 :math:`i-1` 对和 :math:`x_i`；
# 损失对所有位置取平均，一次前向同时训练所有提示长度。
torch.manual_seed(seed + 1)
model = InContextRegressor(dim, n_points, n_layer=2, n_head=4, d_model=32)
history = fit(
    model,
    in_context_loss,
    (x_train, y_train),
    steps=800,
    batch_size=128,
    lr=3e-3,
    grad_clip=1.0,
    seed=seed + 2,
)
print(f"训练损失：{history.train_loss[0]:.3f} → {history.final_train_loss:.3f}")

# %%
# 测量：误差与示例数 k
# --------------------
# 基线在 float64 中计算；一步梯度下降的步长对每个 :math:`k` 在训练提示上取闭式最优值。
xt, yt = x_test.double(), y_test.double()
lrs = best_gd_lr(x_train[:4000].double(), y_train[:4000].double())
with torch.no_grad():
    err = {"Transformer": error_by_position(model(x_test, y_test).double(), yt) / dim}
err["最小二乘"] = error_by_position(prefix_predictions(least_squares_predict, xt, yt), yt) / dim
err["一步梯度下降"] = (
    error_by_position(
        prefix_predictions(lambda a, b, q: gd_step_predict(a, b, q, lrs[a.shape[1]]), xt, yt), yt
    )
    / dim
)
err["零预测器"] = error_by_position(prefix_predictions(zero_predict, xt, yt), yt) / dim
for k in range(n_points):
    print(f"k = {k}：" + "，".join(f"{name} {e[k]:.3f}" for name, e in err.items()))

k_big = 2 * dim
tf, ls, gd = (float(err[name][k_big]) for name in ("Transformer", "最小二乘", "一步梯度下降"))
ratio = tf / ls
report("k = 2d 时 Transformer 的归一化误差", tf, key="err_transformer")
report("k = 2d 时最小二乘的归一化误差", ls, key="err_ls")
report("k = 2d 时一步梯度下降的归一化误差", gd, key="err_gd")
report("k = 0 时 Transformer 的归一化误差", float(err["Transformer"][0]), key="err_transformer_k0")
report(
    "k = 2d 时 Transformer 与最小二乘的误差之比",
    ratio,
    key="ratio_ls",
    unit="倍",
    claim="k ≥ d 时 Transformer 的上下文误差接近最小二乘",
    target="≤ 2",
    passed=ratio <= 2.0,
)
report(
    "k = 2d 时 Transformer 与一步梯度下降的误差之比",
    tf / gd,
    key="ratio_gd",
    unit="倍",
    claim="示例多时 Transformer 优于一步梯度下降",
    target="< 1",
    passed=tf < gd,
)
fall = tf / float(err["Transformer"][0])
report(
    "Transformer 误差 k = 2d 与 k = 0 之比",
    fall,
    key="fall",
    claim="上下文误差随示例数下降",
    target="< 0.8",
    passed=fall < 0.8,
)
print(f"k = 2d：Transformer / 最小二乘 = {ratio:.2f}，Transformer / 一步梯度下降 = {tf / gd:.2f}")

# %%
# 误差曲线
# --------
fig, ax = plt.subplots(figsize=(7, 4))
styles = {"Transformer": "o-", "最小二乘": "s--", "一步梯度下降": "^-.", "零预测器": ":"}
for name, e in err.items():
    ax.plot(range(n_points), e.numpy(), styles[name], label=name)
ax.axvline(dim, color="gray", ls=":", label=f"k = d = {dim}")
ax.set_yscale("log")
ax.set_ylim(0.02, 3)
ax.set_xlabel("提示中的示例数 k")
ax.set_ylabel("归一化平方误差（除以 d）")
ax.set_title(f"上下文线性回归（d = {dim}，噪声标准差 {noise}）")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# Transformer 的误差随 :math:`k` 下降，说明它确实在读提示里的示例。在构建本书的种子 0 上，
# 示例多时它胜过一步梯度下降，但换用其他种子（环境变量 ``SURVEY_SEED``）时这一结论并不稳定：
# 只训练 800 步，有的种子可能还没离开训练初期的平台（两个基线都按闭式计算，不经梯度训练）。
# 在本例的训练预算下（800 步、2 层、宽 32），它在 :math:`k = 2d` 处离最小二乘仍差得远，
# 看上面报告的比值与是否达标：Garg 等人的模型训练了 50 万步才贴近最小二乘，本例的训练损失也还在下降。
# 最小二乘在 :math:`k = d` 处的尖峰是噪声下恰好确定方程组的病态（与双下降的插值阈值同一原因），
# Transformer 没有这个尖峰，它在小 :math:`k` 时更像带收缩的估计。
#
# ``benchmarks/claims.py`` 在 5 个种子上重跑本例，两个比值跨种子的结果见实验结果总览中的
# :ref:`claims-across-seeds`。

"""
顿悟（grokking）：过拟合之后很久，测试准确率才突然上升
======================================================

**论断**\\ （Power 等 2022）：在模加法这类小型算法数据集上，网络很快就把训练集背下来
（训练准确率 100%），测试准确率却停在低位；继续训练很久之后，测试准确率才突然升到接近 100%，
这种“过拟合之后的泛化”被称为顿悟（grokking）。权重衰减是让它发生的最有效的干预之一。

本例用 1 层、宽 64 的小 GPT（:class:`survey_models.transformer.GPT`）学习
:math:`a+b \\bmod 23`：全部 529 个算式中随机 60% 用于训练，其余 40% 测试。
两个模型的唯一区别是 AdamW 的权重衰减：1.0 与 0。为了在一分钟内跑完，
这里的模数、模型和训练步数都比论文小得多（论文用 :math:`p=97` 和多达 :math:`10^5` 步以上），
因而“延迟”也短得多。
"""

# %%
# 数据
# ----
# :func:`survey_models.reasoning.modular_addition_task` 把每个算式写成 ``a b = c`` 四个词元，
# 只对 ``c`` 计分；:func:`survey_models.reasoning.split_task` 随机划分训练与测试。
import time

import matplotlib.pyplot as plt
import numpy as np

from survey_models import example_seed, reasoning, setup_example, train
from survey_models.report import report
from survey_models.transformer import GPT, lm_loss

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
p = 23
task = reasoning.modular_addition_task(p)
train_task, test_task = reasoning.split_task(task, 0.6, seed=seed)
print(f"模数 {p}：{len(train_task)} 个训练算式，{len(test_task)} 个测试算式")

# %%
# 训练：有无权重衰减
# ------------------
# 全批量（批大小 512 不小于训练集，每步从训练集有放回地抽取），AdamW，学习率 3e-3，
# 1000 步；每 50 步记录训练与测试准确率（:func:`survey_models.reasoning.answer_accuracy`）。
steps, every = 1000, 50
runs = {}
start = time.perf_counter()
for wd in (1.0, 0.0):
    train.set_seed(seed)
    model = GPT(task.vocab_size, 3, n_layer=1, n_head=4, d_model=64)
    log = []
    train.fit(
        model,
        lm_loss,
        (train_task.x, train_task.y),
        steps=steps,
        batch_size=512,
        lr=3e-3,
        optimizer="adamw",
        weight_decay=wd,
        seed=seed,
        log_every=every,
        callback=lambda step, m, log=log: log.append(
            (
                step,
                reasoning.answer_accuracy(m, train_task),
                reasoning.answer_accuracy(m, test_task),
            )
        ),
    )
    runs[wd] = np.array(log)
    norm = sum(float(q.detach().pow(2).sum()) for q in model.parameters()) ** 0.5
    print(
        f"权重衰减 {wd}：参数范数 {norm:.1f}；"
        + "，".join(f"{int(s)} 步 训练 {a:.2f}/测试 {b:.2f}" for s, a, b in log[1::4])
    )
print(f"两次训练共用时 {time.perf_counter() - start:.1f} s")

# %%
# 测量：训练集背熟的时刻与测试集泛化的时刻
# ----------------------------------------


def first_step(log: np.ndarray, column: int, level: float) -> float:
    hit = np.flatnonzero(log[:, column] >= level)
    return float(log[hit[0], 0]) if hit.size else float("inf")


with_wd = runs[1.0]
t_fit = first_step(with_wd, 1, 0.99)
t_gen = first_step(with_wd, 2, 0.95)
print(
    f"有权重衰减：训练准确率首次 >= 0.99 在第 {t_fit:.0f} 步，测试准确率首次 >= 0.95 "
    f"在第 {t_gen:.0f} 步"
)
report(
    "有权重衰减时训练集背熟的步数",
    t_fit,
    key="fit_step",
    unit="步",
    claim="训练集很快被记住（仅记录）",
    passed=None,
)
report(
    "有权重衰减时测试准确率达到 0.95 的步数",
    t_gen,
    key="generalize_step",
    unit="步",
    claim="测试准确率在训练准确率达到 100% 之后很久才上升",
    target=f">= 2 × {t_fit:.0f}（训练集背熟步数的 2 倍）",
    passed=bool(np.isfinite(t_gen) and t_gen >= 2 * t_fit),
)
no_wd_fit = first_step(runs[0.0], 1, 0.99)
no_wd_test = float(runs[0.0][-1, 2])
report(
    "无权重衰减时训练集背熟的步数",
    no_wd_fit,
    key="fit_step_no_wd",
    unit="步",
    claim="没有权重衰减也很快记住训练集（仅记录）",
    passed=None,
)
report(
    "无权重衰减时的最终测试准确率",
    no_wd_test,
    key="test_acc_no_wd",
    claim="没有权重衰减时，同样的步数内不发生顿悟",
    target="< 0.8",
    passed=no_wd_test < 0.8,
)
print(
    f"无权重衰减：训练准确率首次 >= 0.99 在第 {no_wd_fit:.0f} 步，最终测试准确率 {no_wd_test:.3f}"
)

# %%
# 训练与测试准确率曲线
# --------------------
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for ax, wd in zip(axes, (1.0, 0.0)):
    log = runs[wd]
    ax.plot(log[:, 0], log[:, 1], "-", label="训练准确率")
    ax.plot(log[:, 0], log[:, 2], "-", label="测试准确率")
    ax.set_title(f"AdamW 权重衰减 = {wd}")
    ax.set_xlabel("训练步数")
    ax.legend(loc="lower right")
axes[0].axvline(t_fit, color="gray", ls=":")
if np.isfinite(t_gen):
    axes[0].axvline(t_gen, color="gray", ls="--")
axes[0].set_ylabel(f"a + b mod {p} 的准确率")
fig.suptitle("模加法上的顿悟：先记住，后泛化")
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 两个模型都很快把训练集背熟，可只有带权重衰减的那个在之后继续把测试准确率推到接近 1。
# 一种解释（Nanda 等 2023）是：记忆解和泛化解都能拟合训练集，但泛化解
# （用傅里叶特征实现模加法）所需的参数范数更小；权重衰减不断压低范数，把模型从记忆解推向泛化解。
# 这里的尺度与论文差很多：模数 23、60% 的训练比例和较大的学习率让延迟只有几百步；
# 没有权重衰减的模型只是在 1000 步内没有顿悟，更长的训练是否会发生，本例没有测量。

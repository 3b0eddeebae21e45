"""
一次性剪枝：幅值、Wanda 与 SparseGPT
====================================

一次性剪枝（one-shot pruning）在 **不重新训练** 的前提下把训练好的模型剪到给定的稀疏度，
只用一小批校准数据：逐层记录每个线性层的输入 :math:`X`\\ ，选出要去掉的权重。
幅值剪枝只看 :math:`|W_{ij}|`\\ ；Wanda 看 :math:`|W_{ij}|\\cdot\\lVert X_{:,j}\\rVert_2`\\ ，
在每个输出行内比较；SparseGPT 用输入的二阶矩 :math:`H=X^\\top X/n` 逐列剪枝，
并用 :math:`H^{-1}` 更新剩下的权重来补偿被剪掉的部分（最优脑外科的思路）。

**论断**\\ （Frantar 与 Alistarh 2023；Sun 等 2024）：把大语言模型一次性剪到 50% 的稀疏度
（或 2:4 的半结构化稀疏），SparseGPT 与 Wanda 的困惑度只比稠密模型略高，幅值剪枝的损失则大得多。

本例沿用上一个剪枝示例的模型：在手写数字上训练一个两层 256 单元的 MLP，用 256 张训练图像作
校准数据，对全部三个线性层做 50% 非结构化剪枝与 2:4 剪枝，比较三种方法剪枝后的模型输出
（logit）偏离稠密模型的相对误差，以及测试交叉熵与准确率的变化。目标：50% 与 2:4 下，
SparseGPT 与 Wanda 的相对输出误差都小于幅值剪枝。相对论文的规模（数十亿参数的 OPT、LLaMA，
用 128 段文本校准）大幅缩小：模型只有约 8.5 万个参数，数据是 8×8 的数字图像。
"""

# %%
# 稠密模型与校准数据
# ------------------
# 与 :ref:`sphx_glr_auto_examples_06_distillation_plot_pruning_quantization.py` 相同的 MLP，
# 训练 40 轮。校准数据是随机选出的 256 张训练图像，三种方法用的是同一批。
import matplotlib.pyplot as plt
import torch

from survey_models import compression, data, example_seed, setup_example, train
from survey_models.one_shot_pruning import prune_model
from survey_models.report import report
from survey_models.scaling import MLP
from survey_models.train import accuracy, classification_loss

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
split = data.digits_split(test_fraction=0.3, seed=0)
x_tr, y_tr, x_te, y_te = split.x_train, split.y_train, split.x_test, split.y_test

torch.manual_seed(seed)
dense = MLP(64, (256, 256), 10)
train.fit(dense, classification_loss, (x_tr, y_tr), epochs=40, lr=1e-3, seed=seed + 1)
calib = x_tr[torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(seed + 2))[:256]]


@torch.no_grad()
def evaluate(model):
    """测试交叉熵、准确率，以及 logit 偏离稠密模型的相对误差。"""
    z = model(x_te)
    rel = float((z - z_dense).pow(2).sum() / z_dense.pow(2).sum())
    return float(classification_loss(model, x_te, y_te)), accuracy(model, x_te, y_te), rel


with torch.no_grad():
    z_dense = dense(x_te)
loss_dense, acc_dense, _ = evaluate(dense)
print(f"稠密模型：测试交叉熵 {loss_dense:.4f}，测试准确率 {acc_dense:.4f}")
report("稠密模型的测试交叉熵", loss_dense, key="loss_dense")
report("稠密模型的测试准确率", acc_dense, key="acc_dense")

# %%
# 三种方法，两种稀疏模式
# ----------------------
# :func:`survey_models.one_shot_pruning.prune_model` 按层的顺序逐层剪枝：每一层的校准输入
# 是在 **已经剪过的** 前面几层之上重新记录的，所以后面的层拟合的是它剪枝后真正会看到的输入。
# 50% 非结构化剪枝在每个输出行里恰好去掉一半权重；2:4 剪枝在每行每 4 个相邻的输入权重中保留 2 个。
methods = {"magnitude": "幅值", "wanda": "Wanda", "sparsegpt": "SparseGPT"}
patterns = {"50": None, "24": (2, 4)}
results, pruned = {}, {}
for pat, n_m in patterns.items():
    for method in methods:
        model = prune_model(dense, lambda m: m(calib), method, sparsity=0.5, n_m=n_m)
        pruned[pat, method] = model
        results[pat, method] = evaluate(model)
        loss, acc, rel = results[pat, method]
        print(
            f"{'50%' if n_m is None else '2:4'} {methods[method]}：实测稀疏度 "
            f"{compression.sparsity(model):.3f}，相对输出误差 {rel:.4f}，"
            f"交叉熵差 {loss - loss_dense:+.4f}，准确率差 {acc - acc_dense:+.4f}"
        )
report(
    "剪枝后模型的稀疏度（50%，SparseGPT）",
    compression.sparsity(pruned["50", "sparsegpt"]),
    key="sparsity",
)

# %%
# 测量结果
# --------
# 论文用困惑度（即语言模型的交叉熵）衡量剪枝的损失。这里的测试集只有几百张图像，
# 50% 剪枝下交叉熵的变化很小、噪声相对较大，所以把模型输出偏离稠密模型的程度作为主要指标：
# 它正是逐层目标（每层输出的平方误差）在整个模型上的体现。
mag50, wan50, sgp50 = (results["50", m][2] for m in methods)
mag24, wan24, sgp24 = (results["24", m][2] for m in methods)
report("50%：幅值剪枝的相对输出误差", mag50, key="err50_magnitude")
report(
    "50%：Wanda 的相对输出误差",
    wan50,
    key="err50_wanda",
    claim="50% 稀疏时 Wanda 的输出偏离小于幅值剪枝",
    target=f"< 幅值剪枝的 {mag50:.4f}",
    passed=wan50 < mag50,
)
report(
    "50%：SparseGPT 的相对输出误差",
    sgp50,
    key="err50_sparsegpt",
    claim="50% 稀疏时 SparseGPT 的输出偏离小于幅值剪枝",
    target=f"< 幅值剪枝的 {mag50:.4f}",
    passed=sgp50 < mag50,
)
report("2:4：幅值剪枝的相对输出误差", mag24, key="err24_magnitude")
report(
    "2:4：Wanda 的相对输出误差",
    wan24,
    key="err24_wanda",
    claim="2:4 稀疏时 Wanda 的输出偏离小于幅值剪枝",
    target=f"< 幅值剪枝的 {mag24:.4f}",
    passed=wan24 < mag24,
)
report(
    "2:4：SparseGPT 的相对输出误差",
    sgp24,
    key="err24_sparsegpt",
    claim="2:4 稀疏时 SparseGPT 的输出偏离小于幅值剪枝",
    target=f"< 幅值剪枝的 {mag24:.4f}",
    passed=sgp24 < mag24,
)
dloss = {k: v[0] - loss_dense for k, v in results.items()}
dacc = {k: v[1] - acc_dense for k, v in results.items()}
report("50%：幅值剪枝的交叉熵差", dloss["50", "magnitude"], key="dloss50_magnitude")
report("50%：Wanda 的交叉熵差", dloss["50", "wanda"], key="dloss50_wanda")
report("50%：SparseGPT 的交叉熵差", dloss["50", "sparsegpt"], key="dloss50_sparsegpt")
report("2:4：幅值剪枝的交叉熵差", dloss["24", "magnitude"], key="dloss24_magnitude")
report("2:4：Wanda 的交叉熵差", dloss["24", "wanda"], key="dloss24_wanda")
report("2:4：SparseGPT 的交叉熵差", dloss["24", "sparsegpt"], key="dloss24_sparsegpt")
report("50%：幅值剪枝的准确率差", dacc["50", "magnitude"], key="dacc50_magnitude")
report("50%：Wanda 的准确率差", dacc["50", "wanda"], key="dacc50_wanda")
report("50%：SparseGPT 的准确率差", dacc["50", "sparsegpt"], key="dacc50_sparsegpt")
report("2:4：幅值剪枝的准确率差", dacc["24", "magnitude"], key="dacc24_magnitude")
report("2:4：SparseGPT 的准确率差", dacc["24", "sparsegpt"], key="dacc24_sparsegpt")

# %%
# 图：输出误差、交叉熵差与第一层保留的权重
# ----------------------------------------
# 右边两幅图是第一层（输入为 64 个像素）每个像素保留下来的权重所占的比例。
# 数字图像边缘的像素几乎总是 0，Wanda 的分数 :math:`|W_{ij}|\cdot\lVert X_{:,j}\rVert_2`
# 在那里为 0，于是把保留名额让给了有信息的像素；幅值剪枝看不到输入，照样保留它们。
fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), gridspec_kw={"width_ratios": [1.3, 1.3, 1, 1]})
pos = torch.arange(len(patterns)).float()
for i, method in enumerate(methods):
    axes[0].bar(
        pos + (i - 1) * 0.27, [results[p, method][2] for p in patterns], 0.27, label=methods[method]
    )
    axes[1].bar(
        pos + (i - 1) * 0.27, [dloss[p, method] for p in patterns], 0.27, label=methods[method]
    )
for ax, title in zip(axes[:2], ["logit 的相对误差", "测试交叉熵的增加（奈特）"]):
    ax.set_xticks(pos, ["50% 非结构化", "2:4"])
    ax.set_title(title)
axes[1].axhline(0, color="gray", lw=0.8)
axes[1].legend()
axes[0].set_yscale("log")
axes[0].set_ylim(1e-4, 1)
axes[0].set_ylabel("相对误差（对数坐标）")
axes[1].set_ylabel("交叉熵差")
for ax, method in zip(axes[2:], ["magnitude", "wanda"]):
    first = pruned["50", method].net[0].weight
    im = ax.imshow((first != 0).float().mean(0).reshape(8, 8), vmin=0, vmax=1, cmap="viridis")
    ax.set_title(f"第一层：{methods[method]}（50%）")
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(im, ax=axes[2:], fraction=0.05, label="该像素保留的权重比例")
plt.show()

# %%
# 结论
# ----
# 三种方法都剪掉了同样多的权重，差别只在剪哪些、剪后怎么办。SparseGPT 用校准输入的二阶矩
# 一边剪、一边更新剩下的权重，输出偏离比幅值剪枝小一个数量级以上；Wanda 不更新权重，
# 只是把输入的大小算进分数里，输出偏离也小于幅值剪枝，但与 SparseGPT 差得很远。2:4 的约束更紧，
# 三种方法的误差都更大。交叉熵是另一回事：输出偏离小不等于交叉熵低（偏离的方向也有关系），
# 这个冗余的小 MLP 剪掉一半权重本来损失就小，测试集又只有几百张图像，所以交叉熵的差别噪声较大，
# Wanda 与幅值剪枝谁的交叉熵更低并不一定与输出偏离的次序一致。
# Wanda 的论文把它在大模型上的优势归于激活中少数数值极大的离群特征；这个小 MLP 没有这种特征，
# 它在这里的优势来自别处：边缘像素恒为 0，乘在上面的权重再大也没有用（右图）。

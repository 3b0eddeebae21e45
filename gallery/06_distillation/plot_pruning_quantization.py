"""
剪枝与量化：去掉九成权重、只用几个比特
======================================

**论断 1**\\ （Han 等 2015）：训练好的网络里大部分权重可以去掉——按幅值剪去最小的权重，
再对剩下的权重微调，准确率几乎不变；不微调的“一次性”剪枝在高稀疏度下损失更大。
Frankle 与 Carbin（2019）的彩票假设进一步说，稠密网络里藏着可以单独训练的稀疏子网络。

**论断 2**\\ （Jacob 等 2018）：权重和激活量化为 8 位整数后，模型缩小约 4 倍，
准确率只有很小的损失；位数再少，误差迅速增大。

本例在手写数字上训练一个两层 256 单元的 MLP，然后：(1) 全局幅值剪枝到 50%–98% 的稀疏度，
比较一次性剪枝与剪枝后微调；(2) 把它转换为真正以 int8 存储、以整数矩阵乘法计算的模型，
测量大小与准确率；(3) 把权重伪量化到 8/4/3/2 位，测量准确率。
"""

# %%
# 稠密模型
# --------
import time

import matplotlib.pyplot as plt

from survey_models import compression, data, example_seed, setup_example, train
from survey_models.report import report
from survey_models.scaling import MLP
from survey_models.train import accuracy, classification_loss, count_parameters

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
split = data.digits_split(test_fraction=0.3, seed=0)
x_tr, y_tr, x_te, y_te = split.x_train, split.y_train, split.x_test, split.y_test


start = time.perf_counter()
dense = MLP(64, (256, 256), 10)
train.fit(dense, classification_loss, (x_tr, y_tr), epochs=40, lr=1e-3, seed=seed)
dense_acc = accuracy(dense, x_te, y_te)
print(
    f"稠密模型：{count_parameters(dense)} 个参数，测试准确率 {dense_acc:.4f}，"
    f"用时 {time.perf_counter() - start:.1f} s"
)
report("稠密模型的测试准确率", dense_acc, key="dense_acc", passed=None)

# %%
# 全局幅值剪枝：一次性 vs 微调
# ----------------------------
# :func:`survey_models.compression.global_magnitude_masks` 把三层权重放在一起按绝对值排序，
# 去掉最小的那一部分；:func:`survey_models.compression.apply_masks` 把掩码挂在层上
# （:math:`W=W_{\text{orig}}\odot M`），微调时被剪掉的权重始终为 0。微调 20 轮，学习率 1e-3。
levels = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98]
one_shot, tuned = [], []
start = time.perf_counter()
for s in levels:
    model = MLP(64, (256, 256), 10)
    model.load_state_dict(dense.state_dict())
    compression.apply_masks(model, compression.global_magnitude_masks(model, s))
    one_shot.append(accuracy(model, x_te, y_te))
    train.fit(model, classification_loss, (x_tr, y_tr), epochs=20, lr=1e-3, seed=seed + 1)
    tuned.append(accuracy(model, x_te, y_te))
    print(
        f"稀疏度 {s:.0%}（实测 {compression.sparsity(model):.3f}）：一次性剪枝 {one_shot[-1]:.4f}，"
        f"微调后 {tuned[-1]:.4f}"
    )
print(f"剪枝与微调共用时 {time.perf_counter() - start:.1f} s")
i90 = levels.index(0.9)
report(
    "90% 稀疏：一次性剪枝的准确率",
    one_shot[i90],
    key="one_shot_90",
    claim="不微调的一次性剪枝在高稀疏度下损失大（仅记录）",
    passed=None,
)
report("90% 稀疏：微调后的准确率", tuned[i90], key="tuned_90", passed=None)
report(
    "90% 稀疏并微调后的准确率下降",
    dense_acc - tuned[i90],
    key="drop_90",
    unit="（比例）",
    claim="剪掉 90% 的权重并微调，准确率几乎不变",
    target="<= 0.01（1 个百分点）",
    passed=dense_acc - tuned[i90] <= 0.01,
)
report("98% 稀疏：微调后的准确率", tuned[-1], key="tuned_98", passed=None)
report(
    "98% 稀疏：微调比一次性剪枝高出的准确率",
    tuned[-1] - one_shot[-1],
    key="gain_98",
    claim="高稀疏度下微调能挽回一次性剪枝的损失",
    target="> 0",
    passed=tuned[-1] - one_shot[-1] > 0,
)

# %%
# int8：真正的整数模型
# --------------------
# :func:`survey_models.compression.quantize_int8` 把每个 Linear 换成
# :class:`survey_models.compression.Int8Linear`：权重按行量化为 int8 存储，输入按行动态量化，
# 整数乘积在 int32 中累加，最后乘以两个步长还原为浮点。只用普通张量运算，
# 不依赖正在弃用的 ``torch.ao.quantization`` 接口。
int8_model = compression.quantize_int8(dense)
int8_acc = accuracy(int8_model, x_te, y_te)
size_fp32 = compression.state_dict_bytes(dense)
size_int8 = compression.state_dict_bytes(int8_model)
print(
    f"float32 模型 {size_fp32 / 1024:.1f} KiB，int8 模型 {size_int8 / 1024:.1f} KiB，"
    f"准确率 {dense_acc:.4f} → {int8_acc:.4f}"
)
report("float32 模型的存储", size_fp32 / 1024, key="size_fp32", unit="KiB", passed=None)
report("int8 模型的存储", size_int8 / 1024, key="size_int8", unit="KiB", passed=None)
report(
    "int8 模型的压缩倍数",
    size_fp32 / size_int8,
    key="int8_ratio",
    unit="倍",
    claim="int8 存储让模型缩小约 4 倍",
    target=">= 3.5",
    passed=size_fp32 / size_int8 >= 3.5,
)
report(
    "int8 模型的准确率下降",
    dense_acc - int8_acc,
    key="int8_drop",
    claim="8 位量化几乎不损失准确率",
    target="<= 0.005",
    passed=dense_acc - int8_acc <= 0.005,
)

# %%
# 更少的比特：伪量化
# ------------------
# :func:`survey_models.compression.fake_quantize_model` 把权重量化为 b 位整数再乘回步长
# （每个权重矩阵一个步长），激活保持浮点，用来测量任意位数下的准确率。
# 作为对照，也测量每个输出行各用一个步长（按通道量化）的版本。
bits_list = [8, 4, 3, 2]
fq = {
    b: accuracy(compression.fake_quantize_model(dense, b, per_channel=False), x_te, y_te)
    for b in bits_list
}
fq_row = {
    b: accuracy(compression.fake_quantize_model(dense, b, per_channel=True), x_te, y_te)
    for b in bits_list
}
for b in bits_list:
    print(f"{b} 位权重：每矩阵一个步长 {fq[b]:.4f}，每行一个步长 {fq_row[b]:.4f}")
report(
    "4 位权重的准确率下降",
    dense_acc - fq[4],
    key="drop_4bit",
    claim="4 位权重仍接近全精度",
    target="<= 0.02",
    passed=dense_acc - fq[4] <= 0.02,
)
report("3 位权重的准确率下降", dense_acc - fq[3], key="drop_3bit", passed=None)
report(
    "2 位权重的准确率（每矩阵一个步长）",
    fq[2],
    key="acc_2bit",
    claim="2 位（只有 -1、0、+1 三个值）时准确率崩溃",
    target=f"比全精度低 10 个百分点以上（< {dense_acc - 0.1:.3f}）",
    passed=fq[2] < dense_acc - 0.1,
)
report(
    "2 位权重的准确率（每行一个步长）",
    fq_row[2],
    key="acc_2bit_row",
    claim="按通道（每行）取步长能挽回一部分（仅记录）",
    passed=None,
)

# %%
# 图：准确率与稀疏度、比特数
# --------------------------
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].axhline(dense_acc, color="gray", ls=":", label="稠密模型")
axes[0].plot([100 * s for s in levels], one_shot, "s--", label="一次性剪枝")
axes[0].plot([100 * s for s in levels], tuned, "o-", label="剪枝后微调 20 轮")
axes[0].set_xlabel("稀疏度（被剪掉的权重，%）")
axes[0].set_ylabel("测试准确率")
axes[0].set_title("全局幅值剪枝")
axes[0].legend()
axes[1].axhline(dense_acc, color="gray", ls=":", label="float32")
axes[1].plot(bits_list, [fq[b] for b in bits_list], "o-", label="权重伪量化（每矩阵一个步长）")
axes[1].plot(bits_list, [fq_row[b] for b in bits_list], "s--", label="权重伪量化（每行一个步长）")
axes[1].plot([8], [int8_acc], "r*", markersize=12, label="int8 整数模型")
axes[1].set_xlabel("权重比特数")
axes[1].set_ylabel("测试准确率")
axes[1].set_xticks(bits_list)
axes[1].invert_xaxis()
axes[1].set_title("量化")
axes[1].legend()
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 这个 MLP 的参数远多于 8×8 数字所需，所以大部分权重可以去掉；去掉后微调能让剩下的权重
# 补偿被剪掉的那部分。int8 把存储缩小约 4 倍而准确率几乎不变；2 位时每个权重只剩
# 三个取值，准确率崩溃；每行各取一个步长能挽回一部分，这正是实际系统按通道量化的原因。
# 要注意：这里的“压缩”只是存储上的——稀疏矩阵在 CPU 上
# 未必更快，纯 PyTorch 实现的整数矩阵乘法也不比 float32 快，真正的加速需要专门的内核与硬件。

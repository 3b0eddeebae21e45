"""
卷积与注意力的三条精确性质
==========================

论断：

1. 卷积是平移等变的：先平移再卷积，等于先卷积再平移（LeCun 等 1998）。用循环填充时
   这是精确等式，误差只剩浮点舍入；
2. 不加位置编码的自注意力是置换等变的：打乱输入的顺序，输出按同样的方式被打乱
   （Vaswani 等 2017 因此需要位置编码）；
3. 步长为 1 的 :math:`L` 层 3×3 卷积堆叠，其输出单元的感受野是 :math:`(2L+1)\\times(2L+1)`。

本例对随机初始化的模块直接测量这三条性质：等变误差用最大绝对误差表示，感受野由
输出中心像素对输入的梯度中非零的范围读出。另外，按公式比较卷积层与全连接层的参数量。
"""

# %%
# 1. 卷积的平移等变性
# -------------------
# 三层 3×3 卷积（8 个通道，tanh），循环填充。输入是 1×16×16 的随机图像，平移用
# ``torch.roll``。作为对照，同样的网络改用零填充：边界处的等式不再成立。
import matplotlib.pyplot as plt
import torch

from survey_models import example_seed, setup_example
from survey_models.attention import MultiHeadAttention
from survey_models.convolution import (
    conv_parameters,
    dense_parameters,
    receptive_field_from_gradient,
    stacked_convolutions,
)
from survey_models.report import report
from survey_models.train import set_seed
from survey_models.transformer import sinusoidal_positional_encoding

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
x = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(seed + 1))
shift = (3, 5)
errors, scales = {}, {}
with torch.no_grad():
    for mode in ("circular", "zeros"):
        set_seed(seed)
        net = stacked_convolutions(3, channels=8, padding_mode=mode)
        shifted_then_conv = net(torch.roll(x, shift, dims=(2, 3)))
        conv_then_shifted = torch.roll(net(x), shift, dims=(2, 3))
        errors[mode] = (shifted_then_conv - conv_then_shifted).abs().max().item()
        scales[mode] = conv_then_shifted.abs().max().item()
        print(f"{mode} 填充：最大等变误差 {errors[mode]:.2e}，输出量级 {scales[mode]:.2f}")
report(
    "循环填充卷积的平移等变误差",
    errors["circular"],
    key="circular_error",
    unit="最大绝对误差",
    claim="卷积与平移可交换",
    target="< 1e-5（浮点舍入）",
    passed=errors["circular"] < 1e-5,
)
report(
    "零填充卷积的平移等变误差",
    errors["zeros"],
    key="zeros_error",
    unit="最大绝对误差",
    claim="零填充时边界处等式不成立，误差与输出同一量级",
    target=f"输出量级 {scales['zeros']:.2f}",
)

# %%
# 2. 注意力的置换等变性
# ---------------------
# 一个 4 头、32 维的多头自注意力，输入 10 个随机向量。打乱顺序 :math:`\pi` 后比较
# :math:`f(\pi X)` 与 :math:`\pi f(X)`。再把正弦位置编码加到输入上重复一次：位置编码
# 跟着位置走而不跟着内容走，等式不再成立。
set_seed(seed)
mha = MultiHeadAttention(32, 4).eval()
tokens = torch.randn(1, 10, 32, generator=torch.Generator().manual_seed(seed + 2))
perm = torch.randperm(10, generator=torch.Generator().manual_seed(seed + 3))
pe = sinusoidal_positional_encoding(10, 32)
with torch.no_grad():
    y, _ = mha(tokens)
    y_perm, _ = mha(tokens[:, perm])
    perm_error = (y_perm - y[:, perm]).abs().max().item()
    y_pos, _ = mha(tokens + pe)
    y_pos_perm, _ = mha(tokens[:, perm] + pe)
    perm_error_pos = (y_pos_perm - y_pos[:, perm]).abs().max().item()
print(
    f"无位置编码：{perm_error:.2e}；加正弦位置编码：{perm_error_pos:.3f}"
    f"（输出量级 {y.abs().max().item():.2f}）"
)
report(
    "无位置编码自注意力的置换等变误差",
    perm_error,
    key="perm_error",
    unit="最大绝对误差",
    claim="不加位置编码的自注意力对输入顺序置换等变",
    target="< 1e-5",
    passed=perm_error < 1e-5,
)
report(
    "加位置编码后的置换等变误差",
    perm_error_pos,
    key="perm_error_pos",
    unit="最大绝对误差",
    claim="位置编码打破置换等变，模型才能区分顺序",
    target="> 1e-2",
    passed=perm_error_pos > 1e-2,
)

# %%
# 3. 堆叠卷积的感受野
# -------------------
# 对 :math:`L = 1, \dots, 6` 层 3×3 卷积（tanh，导数处处非零），从输出中心像素反向传播
# 到 31×31 的输入，数出梯度非零的行、列范围。
layers = list(range(1, 7))
fields, grads = [], []
for n_layers in layers:
    set_seed(seed)
    net = stacked_convolutions(n_layers, channels=4)
    h, w, grad = receptive_field_from_gradient(net, side=31)
    fields.append((h, w))
    grads.append(grad)
    print(f"L = {n_layers}: 测得感受野 {h}×{w}，公式 2L+1 = {2 * n_layers + 1}")
mismatch = sum(abs(h - (2 * n + 1)) + abs(w - (2 * n + 1)) for n, (h, w) in zip(layers, fields))
report(
    "感受野与 2L+1 的总偏差",
    mismatch,
    key="rf_mismatch",
    unit="像素",
    claim="L 层 3×3 卷积的感受野为 2L+1",
    target="0",
    passed=mismatch == 0,
)

fig, axes = plt.subplots(1, 4, figsize=(10, 2.9), gridspec_kw={"width_ratios": [1, 1, 1, 1.3]})
for ax, n_layers in zip(axes[:3], (1, 3, 6)):
    g = grads[n_layers - 1]
    ax.imshow((g > 0).float() * 0.3 + g / g.max() * 0.7, cmap="magma_r", vmin=0, vmax=1)
    ax.set_title(f"L = {n_layers}：{fields[n_layers - 1][0]}×{fields[n_layers - 1][1]}")
    ax.set_xlabel("输入列")
    ax.grid(False)
axes[0].set_ylabel("输入行")
axes[3].plot(layers, [f[0] for f in fields], "o", ms=8, label="由梯度测得")
axes[3].plot(layers, [2 * n + 1 for n in layers], "-", label="2L + 1")
axes[3].set_xlabel("卷积层数 L")
axes[3].set_ylabel("感受野边长（像素）")
axes[3].legend(fontsize=8)
fig.suptitle("中心输出像素对输入的梯度：非零区域就是感受野")
fig.tight_layout()

# %%
# 参数量：卷积与全连接
# --------------------
# 把一张 :math:`n\times n` 的单通道图像映射为同样大小的一张特征图：全连接层需要
# :math:`n^4 + n^2` 个参数，3×3 卷积始终只需 10 个（9 个权重 + 1 个偏置）。
sides = [8, 16, 32, 64]
dense = [dense_parameters(s * s, s * s) for s in sides]
conv = [conv_parameters(1, 1, 3) for _ in sides]
for s, d, c in zip(sides, dense, conv):
    print(f"{s}×{s} 图像：全连接 {d:,} 个参数，3×3 卷积 {c} 个")
fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.semilogy(sides, dense, "o-", label="全连接层")
ax.semilogy(sides, conv, "s-", label="3×3 卷积层")
ax.set_xlabel("图像边长 n（像素）")
ax.set_ylabel("参数个数（对数坐标）")
ax.set_title("局部连接 + 权重共享：参数量与图像大小无关")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 三条性质都由结构决定，与权重取值无关：卷积在每个位置做同样的局部运算，所以与平移
# 交换；注意力只按内容两两比较，所以与排列交换，模型要想知道顺序，位置信息必须另外
# 加进去；每多一层 3×3 卷积，感受野每边各扩大一个像素，要看到全图就需要很多层或者
# 下采样——而注意力一层就能连接任意两个位置。

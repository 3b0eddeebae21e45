"""
混合专家：稀疏路由的前馈层与负载均衡
====================================

混合专家（mixture of experts，MoE）层把 Transformer 块里的一个前馈网络换成 :math:`E`
个同样形状的“专家”前馈网络和一个路由器：路由器为每个词元打分，只把它送给得分最高的
:math:`k` 个专家。参数总量随 :math:`E` 增长，而每个词元用到的参数（激活参数）只随
:math:`k` 增长。

论断（Fedus 等 2022，Switch Transformer；Shazeer 等 2017）：(1) 辅助的负载均衡损失
:math:`\\alpha E \\sum_i f_i P_i` 让词元更均匀地分到各个专家；(2) 在每个词元的激活参数
相同的条件下，稀疏的混合专家模型不逊于（论文中是优于）稠密模型。

本例在随书附带的《失乐园》上训练三个字符级语言模型，步数、批大小、学习率都相同：
4 个专家、top-1 路由的 :class:`~survey_models.moe.MoEGPT`，分别带与不带负载均衡损失
（两者初始化相同），以及激活参数相同的稠密 :class:`~survey_models.transformer.GPT`。
均衡损失的系数取 :math:`\\alpha = 0.1`，是 Switch Transformer 所用 0.01 的 10 倍：这里只训练
250 步，0.01 的作用可能太弱（练习：把系数改回 0.01，看变异系数怎样变化）。
测量验证集上各专家分到的词元数的变异系数
（标准差 / 均值，0 表示完全均匀），以及三者的验证损失。目标：带均衡损失的变异系数
低于不带的；带均衡损失的 MoE 的验证损失不高于稠密模型。相对论文（上千亿参数、
上千个专家、数百亿词元）这里缩小到 1 层、64 维、4 个专家、250 步（每步 32 × 32 个字符），
只为看清机制；在这样短的训练里，MoE 多出的总参数未必来得及派上用场，第二个论断的结果
按实测报告。
"""

# %%
# 数据与三个模型
# --------------
# 与 :ref:`sphx_glr_auto_examples_04_transformer_plot_tiny_gpt.py` 同样的语料与划分
# （前 90% 训练，后 10% 验证），上下文缩短到 32 个字符。MoE 用 Switch 的 top-1 路由、
# 门控取路由概率本身（``renormalize=False``：只有一个专家时重新归一化的门控恒为 1，
# 路由器就学不到任务损失的梯度）。每个专家的隐藏宽度与稠密模型的前馈网络相同
# （4 × 64），所以每个词元经过的参数一样多，只多了路由器的 4 × 64 个权重。
import matplotlib.pyplot as plt
import torch

from survey_models import example_seed, setup_example, train
from survey_models.moe import MoEGPT, moe_lm_loss
from survey_models.report import report
from survey_models.text import CharTokenizer, load_corpus, split_ids, windows
from survey_models.transformer import GPT, lm_loss

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
text = load_corpus("paradise_lost")
tok = CharTokenizer(text)
train_ids, val_ids = split_ids(tok.encode(text), val_fraction=0.1)
BLOCK, WIDTH, LAYERS, EXPERTS, STEPS = 32, 64, 1, 4, 250
x, y = windows(train_ids, BLOCK)
val_x, val_y = windows(val_ids, BLOCK, stride=BLOCK)
val_x, val_y = val_x[:256], val_y[:256]  # 约 8,000 个验证字符


def make(kind: str, model_seed: int) -> torch.nn.Module:
    torch.manual_seed(model_seed)
    if kind == "dense":
        return GPT(tok.vocab_size, BLOCK, n_layer=LAYERS, n_head=4, d_model=WIDTH)
    coef = 0.1 if kind == "balanced" else 0.0
    return MoEGPT(
        tok.vocab_size,
        BLOCK,
        n_experts=EXPERTS,
        k=1,
        n_layer=LAYERS,
        n_head=4,
        d_model=WIDTH,
        renormalize=False,
        balance_coef=coef,
    )


names = {"balanced": "MoE + 均衡损失", "plain": "MoE 无均衡损失", "dense": "稠密 GPT"}
models = {kind: make(kind, seed + (kind == "dense")) for kind in names}  # 两个 MoE 初始化相同
for kind, model in models.items():
    active = model.num_parameters() if kind == "dense" else model.num_active_parameters()
    print(f"{names[kind]}：总参数 {model.num_parameters():,}，每个词元的激活参数 {active:,}")

# %%
# 训练
# ----
# AdamW，学习率 3e-3，批大小 32，250 步，梯度裁剪 1.0；三个模型用同一个数据种子，
# 看到的批完全相同。MoE 的训练损失是交叉熵加上各层的均衡损失（式 (10)），验证损失
# 只算交叉熵，可以直接与稠密模型比较。
hists = {}
for kind, model in models.items():
    loss_fn = lm_loss if kind == "dense" else moe_lm_loss
    hists[kind] = train.fit(
        model,
        loss_fn,
        (x, y),
        steps=STEPS,
        batch_size=32,
        lr=3e-3,
        optimizer="adamw",
        val_data=(val_x, val_y),
        log_every=50,
        seed=seed + 10,
        grad_clip=1.0,
    )
    print(f"{names[kind]}：验证损失 {hists[kind].val_loss[-1]:.3f} 奈特/字符")

# %%
# 各专家分到的词元
# ----------------
# 在验证集上数每个专家被选中的次数，用变异系数（标准差 / 均值）概括不均匀的程度
# （有多层时各层取平均）；再报告最忙与最闲专家的份额之比。
counts = {}
with torch.no_grad():
    for kind in ("balanced", "plain"):
        counts[kind] = models[kind](val_x, return_aux=True)[2].double()  # (层, 专家)
cv = {k: (c.std(dim=1, unbiased=False) / c.mean(dim=1)).mean().item() for k, c in counts.items()}
ratio = {
    k: (c.max(dim=1).values / c.min(dim=1).values.clamp(min=1)).max().item()
    for k, c in counts.items()
}
for kind in counts:
    shares = (counts[kind] / counts[kind].sum(dim=1, keepdim=True)).tolist()
    print(
        f"{names[kind]}：变异系数 {cv[kind]:.3f}，最大/最小份额 {ratio[kind]:.1f}，"
        f"各层份额 {[[round(s, 3) for s in row] for row in shares]}"
    )
report(
    "带均衡损失时各专家词元数的变异系数",
    cv["balanced"],
    key="cv_balanced",
    claim="负载均衡损失让词元更均匀地分到各专家（变异系数更低）",
    target=f"< 不带均衡损失的 {cv['plain']:.3f}",
    passed=cv["balanced"] < cv["plain"],
)
report("不带均衡损失时各专家词元数的变异系数", cv["plain"], key="cv_plain")
report("带均衡损失时最忙/最闲专家的份额之比", ratio["balanced"], key="ratio_balanced")
report("不带均衡损失时最忙/最闲专家的份额之比", ratio["plain"], key="ratio_plain")

val = {kind: h.val_loss[-1] for kind, h in hists.items()}
report(
    "带均衡损失的 MoE 的验证损失",
    val["balanced"],
    key="val_moe",
    unit="奈特/字符",
    claim="激活参数相同时，MoE 不逊于稠密模型",
    target=f"<= 稠密模型的 {val['dense']:.3f}",
    passed=val["balanced"] <= val["dense"],
)
report("不带均衡损失的 MoE 的验证损失", val["plain"], key="val_moe_plain", unit="奈特/字符")
report("稠密 GPT 的验证损失", val["dense"], key="val_dense", unit="奈特/字符")
report("稠密减 MoE 的验证损失", val["dense"] - val["balanced"], key="val_gap", unit="奈特/字符")

# %%
# 图：各专家的词元份额与验证损失曲线
# ----------------------------------
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
width = 0.8 / (2 * LAYERS)
for j, kind in enumerate(("balanced", "plain")):
    share = counts[kind] / counts[kind].sum(dim=1, keepdim=True)
    for layer in range(share.shape[0]):
        pos = torch.arange(EXPERTS) + (j * LAYERS + layer - (2 * LAYERS - 1) / 2) * width
        ax1.bar(
            pos,
            share[layer],
            width,
            color=f"C{j}",
            alpha=1.0 - 0.4 * layer,
            label=f"{names[kind]}，第 {layer + 1} 层",
        )
ax1.axhline(1 / EXPERTS, color="gray", ls=":", label="均匀份额")
ax1.set_xticks(range(EXPERTS), [f"专家 {i + 1}" for i in range(EXPERTS)])
ax1.set_ylabel("验证集词元的份额")
ax1.set_title("各专家分到的词元")
ax1.legend(fontsize=7)
for j, kind in enumerate(names):
    ax2.plot(hists[kind].steps, hists[kind].val_loss, "o-", color=f"C{j}", label=names[kind])
ax2.set_xlabel("训练步数")
ax2.set_ylabel("验证交叉熵（奈特/字符）")
ax2.set_title("验证损失")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 不带均衡损失时，路由器会偏向少数专家：某个专家一旦略好，就被选得更多、训练得更多、
# 又变得更好，其余专家分到的词元越来越少。加上均衡损失后，各专家的份额明显更接近均匀
# （变异系数见上面打印的数值；换用其他种子，即环境变量 ``SURVEY_SEED``，重跑即可检验，
# ``benchmarks/claims.py`` 汇总 5 个种子上的结果）。第二个论断在这个
# 规模上没有得到支持：每个词元经过的参数相同，MoE 多出的是总容量，但 250 步里每个专家
# 只见到约四分之一的词元，MoE 的验证损失与稠密模型相当或略差（见上面打印的数值）。
# Switch Transformer 的收益来自数百亿词元的训练，那时每个专家都已见过足够多的数据。

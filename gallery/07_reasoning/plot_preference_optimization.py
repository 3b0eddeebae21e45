"""
偏好优化：DPO 与只在被偏好答案上做监督微调
==========================================

**论断**\\ （Rafailov 等 2023）：直接偏好优化（direct preference optimization，DPO）
把 RLHF 中“奖励模型 + 带 KL 约束的强化学习”换成偏好对上的一个分类损失；在他们的
受控情感生成实验里，DPO 在“奖励–与参考模型的 KL”平面上的前沿优于 PPO，也优于只在被偏好的
回答上做监督微调（Preferred-FT）：同样的 KL 下奖励更高。

本例的任务有一个已知的偏好。提示是一个总和 :math:`s`（``13=``），回答是两个数字，
两数之和等于 :math:`s` 即为正确（``13=49`` 与 ``13=94`` 都对）；在正确的回答中，数字按
不降顺序写的（``13=49``）被偏好（:mod:`survey_models.reasoning.preference`\\ 的式 (6)）。
先在所有正确回答的均匀混合上训练一个参考模型（1 层、宽 32 的小 GPT），再从它采样、
按已知偏好标注出偏好对，然后用同样的偏好对、同样的步数和学习率训练两个模型：

* **DPO**\\ （:math:`\\beta=10`）：在偏好对上最小化 DPO 损失；
* **SFT**：只在每对中被偏好的回答上做下一个词元的监督微调。

**胜率** 定义为采样的回答既正确、又按不降顺序书写的比例；**KL** 是策略相对参考模型的
序列级 KL，在策略自己的样本上估计。比较在同一 KL 处进行：取 DPO 训练结束时的 KL，
把 SFT 训练轨迹上的胜率线性插值到这个 KL，看两者之差。论文的论断预言这个差为正。
本例记录的头条结论是：在这个玩具上，差值不超过 2 倍标准误（胜率的采样误差，由本次运行
算出），即 DPO 的胜率–KL 折中 **没有** 显著优于 SFT——这是对论文论断的一次未复现，
而不是对它的验证。与论文相比，模型、数据和偏好都小得多，偏好是确定的规则而不是人的判断。
"""

# %%
# 参考模型：在所有正确回答的混合上做监督微调
# ------------------------------------------
# :func:`survey_models.reasoning.preference.random_correct_sequences` 为每个总和均匀地抽一个
# 正确回答（排序与否各占其份）；只对回答的两个数字计分。
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from survey_models import example_seed, setup_example, train
from survey_models.reasoning import preference as pref
from survey_models.reasoning.sampling import completion_log_probs, sample_completions
from survey_models.report import report
from survey_models.transformer import GPT, lm_loss

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
start = time.perf_counter()
n_digits = 2
prompts = pref.sum_prompts(torch.arange(9 * n_digits + 1), n_digits)  # 19 个总和 0 … 18
g = torch.Generator().manual_seed(seed)
mix = pref.random_correct_sequences(
    torch.randint(0, 9 * n_digits + 1, (4000,), generator=g), n_digits, seed=seed
)
mix_task = pref.sequence_task(mix)
train.set_seed(seed)
reference = GPT(len(pref.PREFERENCE_VOCAB), 5, n_layer=1, n_head=4, d_model=32)
train.fit(
    reference, lm_loss, (mix_task.x, mix_task.y), steps=300, batch_size=128, lr=3e-3, seed=seed
)


def measure(model: torch.nn.Module) -> tuple[float, float, float]:
    """胜率、正确率与相对参考模型的 KL（每个总和 128 个样本，同一个采样种子）。"""
    samples = sample_completions(model, prompts, 128, n_digits, seed=seed + 1)
    score = pref.preference_score(samples)
    kl = pref.sequence_kl(model, reference, samples.flatten(0, 1))
    return (score == 2).float().mean().item(), (score >= 1).float().mean().item(), kl


win_ref, correct_ref, _ = measure(reference)
print(f"参考模型：胜率 {win_ref:.3f}，正确率 {correct_ref:.3f}")
report("参考模型的胜率", win_ref, key="win_ref")
report("参考模型的正确率", correct_ref, key="correct_ref")

# %%
# 偏好对
# ------
# 每个总和从参考模型采样 40 个回答，两两配对；按已知的分数（错 0、对 1、对且有序 2）
# 标出被偏好（chosen）与被拒绝（rejected）的一方，分数相同的对丢弃
# （:func:`survey_models.reasoning.preference.preference_pairs`）。参考模型在两方上的
# 对数概率只需算一次。
chosen, rejected = pref.preference_pairs(
    sample_completions(reference, prompts, 40, n_digits, seed=seed + 2)
)
with torch.no_grad():
    ref_chosen = completion_log_probs(reference, chosen, pref.PROMPT_LENGTH)
    ref_rejected = completion_log_probs(reference, rejected, pref.PROMPT_LENGTH)
print(
    f"{len(chosen)} 个偏好对，例如 “{pref.decode_preference(chosen[0])}” 优于 “{pref.decode_preference(rejected[0])}”"
)
report("偏好对的个数", len(chosen), key="n_pairs")

# %%
# DPO 与 SFT：同样的数据、步数和学习率
# ------------------------------------
# 两者都从参考模型出发训练 200 步（批大小 64，Adam，学习率 1e-4）。DPO 的损失由
# :func:`survey_models.reasoning.preference.make_dpo_loss_fn` 给出；SFT 在被偏好的回答上用
# :func:`survey_models.transformer.lm_loss`。训练中每隔几步测一次胜率与 KL，画出两条轨迹。
steps, lr, beta = 200, 1e-4, 10.0
runs = {}
for name in ("DPO", "SFT"):
    model = copy.deepcopy(reference)
    points = [(0, win_ref, correct_ref, 0.0)]
    if name == "DPO":
        loss_fn, data, every = (
            pref.make_dpo_loss_fn(beta),
            (chosen, rejected, ref_chosen, ref_rejected),
            20,
        )
    else:
        sft_task = pref.sequence_task(chosen)
        loss_fn, data, every = lm_loss, (sft_task.x, sft_task.y), 10
    train.fit(
        model,
        loss_fn,
        data,
        steps=steps,
        batch_size=64,
        lr=lr,
        seed=seed + 3,
        log_every=every,
        callback=lambda step, m, points=points: points.append((step, *measure(m))),
    )
    runs[name] = np.array(points)
    _, win, correct, kl = points[-1]
    print(f"{name}：胜率 {win:.3f}，正确率 {correct:.3f}，KL {kl:.3f} 奈特")

win_dpo, correct_dpo, kl_dpo = runs["DPO"][-1, 1:]
win_sft, correct_sft, kl_sft = runs["SFT"][-1, 1:]
report("DPO 的胜率", win_dpo, key="win_dpo")
report("DPO 的正确率", correct_dpo, key="correct_dpo")
report("DPO 相对参考模型的 KL", kl_dpo, unit="nat", key="kl_dpo")
report("SFT 的胜率", win_sft, key="win_sft")
report("SFT 的正确率", correct_sft, key="correct_sft")
report("SFT 相对参考模型的 KL", kl_sft, unit="nat", key="kl_sft")

# %%
# 同一 KL 处的比较
# ----------------
# SFT 的轨迹（按 KL 排序）在 DPO 最终 KL 处的胜率，用相邻两个测量点线性插值。
sft_sorted = runs["SFT"][np.argsort(runs["SFT"][:, 3])]
win_sft_matched = float(np.interp(kl_dpo, sft_sorted[:, 3], sft_sorted[:, 1]))
gap = win_dpo - win_sft_matched
# 标准误：两个胜率各是 19 × 128 个样本上的比例（不计插值与训练本身的随机性）。
n_samples = 128 * len(prompts)
gap_se = float(
    np.sqrt((win_dpo * (1 - win_dpo) + win_sft_matched * (1 - win_sft_matched)) / n_samples)
)
print(
    f"在 KL = {kl_dpo:.3f} 处：DPO 胜率 {win_dpo:.3f}，SFT 轨迹 {win_sft_matched:.3f}，"
    f"差 {gap:+.3f}（标准误 {gap_se:.3f}）"
)
report("SFT 轨迹在 DPO 的 KL 处的胜率", win_sft_matched, key="win_sft_matched")
report("胜率之差的标准误", gap_se, key="gap_se")
report(
    "同一 KL 处 DPO 与 SFT 的胜率之差",
    gap,
    key="gap",
    claim="本玩具上 DPO 的胜率–KL 折中不显著优于 SFT（Rafailov 等 2023 报告 DPO 更优）",
    target=f"<= 2 × 标准误 = {2 * gap_se:.3f}",
    passed=gap <= 2 * gap_se,
)
print(f"共用时 {time.perf_counter() - start:.1f} s")

# %%
# 胜率–KL 平面上的两条轨迹
# ------------------------
fig, (ax, bx) = plt.subplots(1, 2, figsize=(9.6, 3.8), width_ratios=(3, 2))
for name, marker in (("DPO", "o-"), ("SFT", "s-")):
    ax.plot(runs[name][:, 3], runs[name][:, 1], marker, ms=4, label=name)
ax.plot([0], [win_ref], "k*", ms=10, label="参考模型")
ax.set_xlabel("相对参考模型的 KL（奈特）")
ax.set_ylabel("胜率（正确且有序）")
ax.set_title("训练轨迹：每个点是一个检查点")
ax.legend()
labels = ("参考模型", "DPO", "SFT")
x = np.arange(3)
bx.bar(x - 0.2, [correct_ref, correct_dpo, correct_sft], 0.4, label="正确率")
bx.bar(x + 0.2, [win_ref, win_dpo, win_sft], 0.4, label="胜率")
bx.set_xticks(x, labels)
bx.set_ylim(0, 1.05)
bx.set_title("训练 200 步之后")
bx.legend(loc="lower right")
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 两种方法都让参考模型明显偏向有序的写法，正确率也都没有下降。但在同一 KL 处比较，
# DPO 的胜率与 SFT 轨迹的胜率之差只在采样误差的量级（上面打印的差值与标准误），
# 看不出论文报告的 DPO 优势：在这个玩具上，论断没有复现。原因至少有两个。
# 其一，偏好对是从参考模型自己采样的，被偏好的回答本来就接近“参考模型在有序回答上的
# 条件分布”，在它们上做 SFT 几乎就是 KL 最省的走法；SFT 同时也在学正确性（被偏好的回答
# 大多是对的），这也算进了胜率。其二在 DPO 的损失本身：它压低被拒绝回答的整个序列概率，
# 包括其中本来正确的第二个数字。\ :math:`\beta` 越小，策略走得越远，这种副作用越明显
# （把 ``beta`` 改成 1 试试：KL 变大，正确率下降）。换用其他种子（环境变量 ``SURVEY_SEED``）
# 重跑即可检验；``benchmarks/claims.py`` 汇总 5 个种子上的结果。

"""
可验证奖励的强化学习：只奖励答对，模型学会先写思维链
====================================================

**论断**\\ （Shao 等 2024；DeepSeek-AI 2025）：从一个监督训练过的模型出发，只用“最终答案是否正确”
这一可自动验证的奖励做强化学习（GRPO：每道题采样一组回答，以组内平均奖励为基线），
就能提高推理题的准确率；DeepSeek-R1-Zero 在这样的训练中，回答自发地越写越长。

本例把这件事缩小到 10 位奇偶校验。监督数据里一半的题直接回答（``b1…b10=>p``\\ ），
一半先写出前缀奇偶性再回答（``b1…b10=r1…r10>p``\\ ，第 7 章式 (7.2)）。监督训练后的
2 层、宽 64 的小 GPT（:class:`survey_models.transformer.GPT`\\ ）两种格式都会写：直接回答只能
猜（奇偶校验一步算不出来），写思维链的则大多答对。接着用
:func:`survey_models.reasoning.rl.rl_step` 做 20 步强化学习：每步 16 道新题、每题采样
8 个回答，答案对得 1 分，否则 0 分，链的长短不计分。作为对照，把同一个监督模型在同样的
混合数据上\\ **继续监督训练**\\ ，所用的计算量（前向加反向经过的词元数）与强化学习相同。
测量测试题上按温度 1 采样的准确率与平均链长（“>”之前的词元数）。
与论文相比，任务、模型、步数都缩小了许多个数量级。
"""

# %%
# 数据与监督训练
# --------------
# 1024 个 10 位串：512 个用于监督训练，256 个作为强化学习的题目（与监督数据不重叠，
# 这样模型无法靠背下训练题的答案得分），256 个作测试。
# :func:`survey_models.reasoning.rl.think_or_answer_parity` 按 ``chain_fraction`` 随机决定
# 每道题用哪种格式。
import copy
import time

import matplotlib.pyplot as plt
import torch

from survey_models import example_seed, reasoning, setup_example, train
from survey_models.reasoning import rl
from survey_models.report import report
from survey_models.transformer import GPT, lm_loss

device = setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
n_bits = 10
bits = reasoning.random_bits(2**n_bits, n_bits, seed=seed)
sft_data = rl.think_or_answer_parity(bits[:512], chain_fraction=0.5, seed=seed + 1)
rl_data = rl.think_or_answer_parity(bits[512:768], chain_fraction=0.5, seed=seed + 2)
test = rl.think_or_answer_parity(bits[768:], chain_fraction=0.5, seed=seed + 3)
for i in range(2):
    text = "".join(rl.THINK_VOCAB[int(t)] for t in sft_data.full[i]).rstrip(".")
    print(("写思维链" if bool(sft_data.chain[i]) else "直接回答") + f"：{text}")

start = time.perf_counter()
train.set_seed(seed)
sft = GPT(len(rl.THINK_VOCAB), sft_data.x.shape[1], n_layer=2, n_head=4, d_model=64)
train.fit(sft, lm_loss, (sft_data.x, sft_data.y), steps=300, batch_size=64, lr=2e-3, seed=seed)
eval_seed = seed + 4  # the same test samples' randomness at every measurement


def measure(model: GPT) -> tuple[float, float]:
    """Accuracy and mean chain length of 2 samples per test question."""
    return rl.sampled_accuracy(model, test, n_samples=2, seed=eval_seed)


sft_acc, sft_len = measure(sft)
print(
    f"监督训练后：测试准确率 {sft_acc:.3f}，平均链长 {sft_len:.2f}，用时 {time.perf_counter() - start:.1f} s"
)

# %%
# 强化学习（GRPO 式，每步一次更新）
# ----------------------------------
# 每组 8 个回答的奖励减去组内均值、除以组内标准差，就是每个回答的优势（模块中的式 (1)）；
# 损失是整段回答的对数概率乘以优势（式 (2)），不按长度平均，以免长度本身带来偏差。
# 每步的计算量记为：采样时前向经过的词元数，加上计算损失时前向与反向各经过一遍的词元数。
rl_steps, every, n_prompts, n_samples = 20, 5, 16, 8
policy = copy.deepcopy(sft)
opt = torch.optim.Adam(policy.parameters(), lr=5e-4)
g = torch.Generator().manual_seed(seed + 5)
passes, rl_curve, train_reward = 0, [(0, sft_acc, sft_len)], []
for step in range(1, rl_steps + 1):
    idx = torch.randint(len(rl_data), (n_prompts,), generator=g)
    out = rl.rl_step(
        policy,
        opt,
        rl_data.prompts[idx],
        rl_data.answers[idx],
        n_samples=n_samples,
        max_new_tokens=rl_data.max_new_tokens,
        seed=seed + 1000 + step,
    )
    passes += out.token_passes
    train_reward.append(out.reward)
    if step % every == 0:
        rl_curve.append((passes, *measure(policy)))
rl_acc, rl_len = rl_curve[-1][1:]
print(
    "强化学习："
    + "，".join(f"{p / 1e3:.0f}k 词元 准确率 {a:.3f} 链长 {n:.2f}" for p, a, n in rl_curve[1:])
)

# %%
# 对照：同样计算量的继续监督训练
# ------------------------------
# 监督训练的一步（批大小 64）前向、反向各经过 64 × 序列长度个词元；让步数乘以它等于
# 强化学习的总计算量，并在相同的计算量处测量。
sft_step_passes = 2 * 64 * sft_data.x.shape[1]
more_steps = round(passes / sft_step_passes)
cont = copy.deepcopy(sft)
cont_curve = [(0, sft_acc, sft_len)]
train.fit(
    cont,
    lm_loss,
    (sft_data.x, sft_data.y),
    steps=more_steps,
    batch_size=64,
    lr=2e-3,
    seed=seed + 6,
    log_every=more_steps // (rl_steps // every),
    callback=lambda s, m: cont_curve.append((s * sft_step_passes, *measure(m))),
)
cont_acc, cont_len = cont_curve[-1][1:]
print(f"继续监督训练 {more_steps} 步：测试准确率 {cont_acc:.3f}，平均链长 {cont_len:.2f}")
print(f"共用时 {time.perf_counter() - start:.1f} s")

report("监督训练后的测试准确率", sft_acc, key="sft_acc")
report("监督训练后的平均链长（词元）", sft_len, key="sft_len")
report("继续监督训练后的测试准确率", cont_acc, key="cont_acc")
report("继续监督训练后的平均链长（词元）", cont_len, key="cont_len")
report("强化学习的计算量（千词元次）", passes / 1e3, key="kilo_passes")
report("强化学习最后一步的训练奖励", train_reward[-1], key="last_reward")
report(
    "强化学习后的测试准确率",
    rl_acc,
    key="rl_acc",
    claim="只奖励答对的强化学习，比同样计算量的继续监督训练准确率更高",
    target=f">= 继续监督训练的 {cont_acc:.3f} + 0.1",
    passed=rl_acc >= cont_acc + 0.1,
)
report(
    "强化学习后的平均链长（词元）",
    rl_len,
    key="rl_len",
    claim="强化学习中回答变长：模型改为先写思维链",
    target=f">= 监督训练后的 {sft_len:.2f} + 2",
    passed=rl_len >= sft_len + 2,
)

# %%
# 准确率与链长随计算量的变化
# --------------------------
fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.6))
for curve, name, style in (
    (rl_curve, "强化学习（GRPO 式）", "o-"),
    (cont_curve, "继续监督训练", "s--"),
):
    x = [p / 1e3 for p, _, _ in curve]
    axes[0].plot(x, [a for _, a, _ in curve], style, label=name)
    axes[1].plot(x, [n for _, _, n in curve], style, label=name)
axes[0].set_ylabel("测试准确率（温度 1 采样）")
axes[0].set_ylim(0.4, 1.02)
axes[1].set_ylabel("平均链长（“>”之前的词元数）")
axes[1].set_ylim(-0.3, n_bits + 0.5)
for ax in axes:
    ax.set_xlabel("计算量（千词元次，前向 + 反向）")
axes[0].legend()
fig.suptitle("10 位奇偶校验：只奖励答对的强化学习 vs 继续监督训练")
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 监督训练后的模型约有一半的题直接作答，这部分只能碰运气。强化学习的奖励只看答案，
# 但写了思维链的回答更常得分，组内基线把它们的概率推高、把直接作答的概率压低，
# 于是平均链长升向写全思维链的 10 个词元，准确率随之上升。继续监督训练仍在模仿
# “一半直接作答”的示范数据，链长在示范的一半上下起伏，准确率随之起伏，却不会持续移向
# “总写思维链”：它学的是示范的分布，而不是什么能答对。
# 要注意，链长的增长来自监督数据中已经示范过的格式，强化学习只是在两种已会的行为之间
# 重新分配概率，并没有发明新的推理方式；若监督模型没有学会正确的思维链，写长链就得不到
# 更多奖励，链长也就没有理由增长。换用其他种子（环境变量 ``SURVEY_SEED``\ ）重跑即可检验；
# ``benchmarks/claims.py`` 汇总 5 个种子上的结果。

"""
测试时计算：自洽性投票、结果奖励模型与过程奖励模型的 best-of-N
==============================================================

同一个模型、同一道题，测试时多花算力有几种花法：写出更长的推理（草稿纸）、采样多条推理
再对最终答案投票（*自洽性*\\ ，self-consistency），或者训练一个*验证器*\\ （verifier）
给每个候选解打分、取分数最高的一个（best-of-N）。验证器又分两种：*结果奖励模型*\\ （outcome
reward model，ORM）只学“最终答案对不对”，*过程奖励模型*\\ （process reward model，PRM）
学“每一步对不对”，一个解的分数是各步得分的乘积。

**论断**\\ （Wang 等 2023；Cobbe 等 2021；Lightman 等 2024）：对采样出的多条思维链做多数投票，
比只采样一条更准；用验证器从 N 个候选解中挑选，准确率随 N 上升；在 MATH 上，
过程奖励模型挑选的正确率高于结果奖励模型（Lightman 等人的 PRM 从 1860 个候选中挑选，
解对 78.2%）。

本例把这些做法放在两位数加法上比较，所有数字都在本次运行中测得：一个 1 层、宽 64 的小 GPT
用草稿纸格式（见 :ref:`sphx_glr_auto_examples_07_reasoning_plot_scratchpad_addition.py`\\ ）
只训练 300 步，使贪心解码仍会出错；另一个同样大小的模型直接回答。对 200 道测试题各采样
N = 16 个解，比较多数投票、结果奖励模型和过程奖励模型的 best-of-N。验证器的训练标签都来自
精确检查：草稿纸的每一列 :math:`a_i\\,b_i\\,c_i\\,s_i\\,c_{i+1}` 都能逐位核对
（:func:`survey_models.reasoning.verifiers.scratchpad_step_labels`\\ ）。与原文相比，
模型、题目和候选数都缩小了几个数量级，题目也从三位数加法减为两位数，验证器也只用 1280 个采样解训练。
过程奖励模型与结果奖励模型的比较只记录、不下结论。
换用其他种子（环境变量 ``SURVEY_SEED``\\ ）重跑即可检验；``benchmarks/claims.py`` 汇总
5 个种子上的结果。
"""

# %%
# 数据与生成模型
# --------------
# 三组互不相交的题目：300 道训练生成模型，200 道用来采样、给验证器提供训练数据，
# 200 道测试。草稿纸模型写 16 个词元（2 列草稿、“>”和 3 位答案），直接回答只写 3 个。
import matplotlib.pyplot as plt
import torch

from survey_models import example_seed, reasoning, setup_example, train
from survey_models.reasoning import sampling, self_consistency, verifiers
from survey_models.report import report
from survey_models.transformer import GPT, lm_loss

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
g = torch.Generator().manual_seed(seed)
n_train, n_ver, n_test = 300, 200, 200
n_digits = 2
a, b = torch.randint(0, 10**n_digits, (2, n_train + n_ver + n_test), generator=g)
parts = {"train": slice(0, n_train), "ver": slice(n_train, n_train + n_ver)}
parts["test"] = slice(n_train + n_ver, None)


def task(part: str, scratchpad: bool) -> reasoning.SequenceTask:
    return reasoning.addition_task(a[parts[part]], b[parts[part]], n_digits, scratchpad=scratchpad)


models = {}
for pad in (True, False):
    tr = task("train", pad)
    train.set_seed(seed + 1)
    # block_size holds the whole sequence, so the verifiers can start from this model
    models[pad] = GPT(tr.vocab_size, tr.x.shape[1] + 1, n_layer=1, n_head=4, d_model=64)
    train.fit(models[pad], lm_loss, (tr.x, tr.y), steps=300, batch_size=64, lr=6e-3, seed=seed)
gen = models[True]
test = task("test", True)
greedy = {
    "直接回答": reasoning.exact_match(models[False], task("test", False)),
    "草稿纸": reasoning.exact_match(gen, test),
}
print("贪心解码的完全正确率：" + "，".join(f"{k} {v:.3f}" for k, v in greedy.items()))

# %%
# 采样与多数投票（自洽性）
# ------------------------
# 温度 1 下每道测试题采样 16 个草稿纸解（:func:`survey_models.reasoning.sampling.sample_completions`\ ），
# 取前 k 个的最终答案投票（:func:`survey_models.reasoning.self_consistency.vote_accuracy`\ ，
# 平票时取先采到的答案）。k = 1 就是只采样一次。
ns = [1, 2, 4, 8, 16]
prompts = test.x[:, : test.prompt_length]
cands = sampling.sample_completions(gen, prompts, ns[-1], test.generated_length, seed=seed + 2)
answers = sampling.final_answers(cands, test.answers.shape[1])
right = sampling.verifiable_reward(cands, test.answers)  # (200, 16): 1 where the answer is right
vote = [self_consistency.vote_accuracy(answers, test.answers, k) for k in ns]
# pass@N: some candidate among the first N is right, the ceiling of any selection rule
ceiling = [right[:, :n].amax(1).mean().item() for n in ns]
print("多数投票：" + "，".join(f"k={k} {v:.3f}" for k, v in zip(ns, vote)))
print("前 N 个中至少一个正确：" + "，".join(f"N={n} {v:.3f}" for n, v in zip(ns, ceiling)))

# %%
# 训练两个验证器
# --------------
# 在另外 200 道题上各采样 8 个解，得到带精确标签的解：结果标签是最终答案是否正确，
# 过程标签是 3 步（2 列和答案）各自是否正确。其中 160 道题的 1280 个解用来训练，另外 40 道题的
# 320 个解留出，用来算验证器的 AUC（:func:`survey_models.reasoning.verifiers.roc_auc`\ ：随机取
# 一个对的解和一个错的解，验证器给对的打分更高的概率，0.5 相当于瞎猜）。两个验证器结构相同（1 层、宽 32 的因果
# Transformer，:class:`survey_models.reasoning.verifiers.Verifier`\ ），只是读出位置与标签
# 不同：结果奖励模型读最后一个词元，过程奖励模型读每一步的最后一个词元。
ver = task("ver", True)
ver_cands = sampling.sample_completions(
    gen, ver.x[:, : ver.prompt_length], 8, ver.generated_length, seed=seed + 3
)
n_fit = 160  # problems whose samples train the verifiers; the other 40 are held out
flat = ver_cands[:n_fit].reshape(-1, ver_cands.shape[-1])
held = ver_cands[n_fit:].reshape(-1, ver_cands.shape[-1])
held_right = sampling.verifiable_reward(ver_cands[n_fit:], ver.answers[n_fit:]).reshape(-1)
fit_right = sampling.verifiable_reward(ver_cands[:n_fit], ver.answers[:n_fit]).reshape(-1, 1)
labels = {
    "结果奖励模型": fit_right,
    "过程奖励模型": verifiers.scratchpad_step_labels(flat, n_digits).float(),
}
positions = {
    "结果奖励模型": [flat.shape[1] - 1],
    "过程奖励模型": verifiers.scratchpad_step_ends(n_digits),
}
print(
    f"验证器训练数据：{flat.shape[0]} 个解，答案正确的占 {labels['结果奖励模型'].mean():.3f}，"
    f"每步都正确的占 {labels['过程奖励模型'].prod(1).mean():.3f}；留出 {held.shape[0]} 个解"
)
bon, auc = {}, {}
for name in labels:
    train.set_seed(seed + 4)
    verifier = verifiers.Verifier.from_generator(gen, positions[name])
    train.fit(verifier, verifiers.verifier_loss, (flat, labels[name]), steps=100, batch_size=128,
              lr=3e-3, seed=seed + 4)  # fmt: skip
    # AUC on the held-out solutions: P(a right one scores above a wrong one); 0.5 is guessing
    auc[name] = verifiers.roc_auc(verifier.score(held), held_right)
    scores = verifiers.score_candidates(verifier, cands)
    bon[name] = [
        sampling.verifiable_reward(verifiers.best_of_n(cands[:, :n], scores[:, :n]), test.answers)
        .mean()
        .item()
        for n in ns
    ]
    print(
        f"{name}：留出 AUC {auc[name]:.3f}；best-of-N："
        + "，".join(f"N={n} {v:.3f}" for n, v in zip(ns, bon[name]))
    )

# %%
# 测得的数字
# ----------
# 论断：16 票多数投票比只采样一次更准（自洽性的基本主张）。过程奖励模型与结果奖励模型的
# best-of-16 只记录、不下结论：这么弱的验证器（见留出 AUC）比较不出两种监督的高下。
report("直接回答的贪心解码正确率", greedy["直接回答"], key="greedy_direct")
report("草稿纸的贪心解码正确率", greedy["草稿纸"], key="greedy_scratchpad")
report("只采样一个草稿纸解的正确率", vote[0], key="sample_1")
report(
    "16 个采样解多数投票的正确率",
    vote[-1],
    key="vote_16",
    claim="对多条采样的推理做多数投票，比只采样一条更准",
    target=f"> 只采样一次的 {vote[0]:.3f}",
    passed=vote[-1] > vote[0],
)
report("16 个候选中至少一个正确的比例", ceiling[-1], key="pass_16")
report("结果奖励模型在留出解上的 AUC", auc["结果奖励模型"], key="auc_orm")
report("过程奖励模型在留出解上的 AUC", auc["过程奖励模型"], key="auc_prm")
report("结果奖励模型 best-of-16 的正确率", bon["结果奖励模型"][-1], key="bon_orm_16")
report("过程奖励模型 best-of-16 的正确率", bon["过程奖励模型"][-1], key="bon_prm_16")
report("草稿纸贪心解码与 16 票投票之差", greedy["草稿纸"] - vote[-1], key="greedy_minus_vote")

# %%
# 正确率随候选数 N 的变化
# -----------------------
fig, ax = plt.subplots(figsize=(6.4, 4.0))
ax.plot(ns, ceiling, "k:", marker=".", label="至少一个正确（上限）")
ax.plot(ns, bon["过程奖励模型"], "o-", label="过程奖励模型 best-of-N")
ax.plot(ns, bon["结果奖励模型"], "s-", label="结果奖励模型 best-of-N")
ax.plot(ns, vote, "^-", label="多数投票（自洽性）")
ax.axhline(greedy["草稿纸"], color="grey", ls="--", label="贪心解码（草稿纸）")
ax.set_xscale("log", base=2)
ax.set_xticks(ns, [str(n) for n in ns])
ax.set_xlabel("每道题的候选数 N（投票时为票数 k）")
ax.set_ylabel("200 道测试题的完全正确率")
ax.set_title("两位数加法：从 N 个采样解中选一个")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# 同一坐标轴上的测试时计算
# ------------------------
# 横轴是每道题生成的词元数：直接回答 3 个，草稿纸 16 个，k 票投票与 best-of-N 是 16k 个
# （验证器再把每个候选读一遍，它比生成模型小，这里没有计入）。
tokens = test.generated_length
direct_tokens = task("test", False).generated_length
costs = [tokens * n for n in ns]
fig, ax = plt.subplots(figsize=(6.4, 4.0))
ax.plot([direct_tokens], [greedy["直接回答"]], "D", ms=8, label="贪心：直接回答")
ax.plot([tokens], [greedy["草稿纸"]], "*", ms=12, label="贪心：草稿纸（更长的推理）")
ax.plot(costs, vote, "^-", label="多数投票（自洽性）")
ax.plot(costs, bon["结果奖励模型"], "s-", label="结果奖励模型 best-of-N")
ax.plot(costs, bon["过程奖励模型"], "o-", label="过程奖励模型 best-of-N")
ax.set_xscale("log")
ax.set_xlabel("每道题生成的词元数（对数坐标）")
ax.set_ylabel("200 道测试题的完全正确率")
ax.set_title("测试时计算与正确率（全部为本次运行的测量）")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 多数投票比只采样一次更准：16 票的正确率高于单个样本，这是自洽性的基本主张。但在这里它
# 追不上贪心解码：加法的草稿纸几乎只有一条正确路径，没有多少不同的推理可供投票“互相印证”，
# 温度 1 的采样反而带进了贪心不会犯的错误。“16 个候选中至少一个正确”的比例远高于任何一种挑选
# 的结果，说明候选里常有正确的解，难处在于把它挑出来。本例的两个验证器只从 1280 个采样解学习，
# 留出解上的 AUC 离 1 很远，区分对错的能力有限；N 越大，挑选越容易落在验证器
# 误判为高分的错解上，best-of-N 的正确率于是不升反降——Cobbe 等人在候选数很大时也看到了
# 这种“骗过验证器”的现象。过程奖励模型与结果奖励模型的差别在这么弱的验证器上也说明不了什么。
# 直接回答与草稿纸的对比也要小心：两位数加法的进位链很短，直接回答在这里并不难学。
# 本例的模型停在学习曲线陡升的中途，不同种子下各条曲线的绝对高度相差很大；要让验证器真正有用，
# 需要多得多的采样解和训练步数，超出了本例的计算预算。

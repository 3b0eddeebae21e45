"""
KV 缓存：生成时复用已算过的键与值
==================================

自回归生成每步只多出一个词元，但朴素的做法把整段上下文重新送进模型：第 :math:`t`
步要重算前面 :math:`t` 个位置的所有层，生成 :math:`T` 个词元的总工作量随 :math:`T^2`
增长。因果注意力里，过去位置的键和值不会因为后来的词元而改变，所以可以把每层的键、
值存起来（KV 缓存），每步只让新词元穿过各层、与缓存里的键值做注意力。

论断（Pope 等 2023；Shazeer 2019）：KV 缓存让解码的每一步只处理一个新位置，结果与
重新计算完全相同，代价是每条序列 :math:`2 \\cdot n_\\text{layer} \\cdot n_\\text{head} \\cdot
d_\\text{head} \\cdot T` 个数的显存。

本例用 :class:`survey_models.transformer.GPT`（2 层、4 头、128 维、上下文 256 个字符，
未训练：是否相同、快多少都与权重无关，省下训练的时间），让 4 条序列各从随书附带的
《失乐园》中取的 8 个字符的提示出发生成 248 个字符
（填满 256 的上下文），分别用 ``use_cache=True`` 与 ``use_cache=False``。测量：两种
方式生成的词元是否逐个相同（目标：不同的个数恰为 0），以及每秒生成的词元数之比
（目标：缓存快“数倍”，这里定为至少 3 倍）。速度与机器有关，记录的数字是这次构建
测得的；这里用进程 CPU 时间计时（单线程），不受共享机器上其他进程的影响。与论文的
大模型相比，这里的模型很小，每步的固定开销（Python 与算子调度）占比更大，所以加速
比低于大模型上的情形。
"""

# %%
# 模型与提示
# ----------
# 词表取自语料（65 个字符），权重是 GPT-2 式的随机初始化。
import time

import matplotlib.pyplot as plt
import torch

from survey_models import example_seed, setup_example
from survey_models.report import report
from survey_models.text import CharTokenizer, load_corpus
from survey_models.transformer import GPT

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
text = load_corpus("paradise_lost")
tok = CharTokenizer(text)
BLOCK = 256
torch.manual_seed(seed)
model = GPT(tok.vocab_size, BLOCK, n_layer=2, n_head=4, d_model=128, positional="learned")
model.eval()
print(f"参数量 {model.num_parameters():,}，上下文 {BLOCK} 个字符")

# %%
# 有缓存与无缓存：同样的词元
# --------------------------
# 4 条提示各 8 个字符（诗中 4 处的开头），温度 0.8 采样 248 个字符；两次生成用同一个种子的
# :class:`torch.Generator`，因此只要每步的 logits 相同，抽到的词元就相同。
starts = (0, 100_000, 200_000, 300_000)
prompt = torch.stack([tok.encode(text[s : s + 8]) for s in starts])
NEW = BLOCK - prompt.shape[1]


def timed_generate(use_cache: bool) -> tuple[torch.Tensor, float]:
    gen = torch.Generator().manual_seed(seed + 2)
    t0 = time.process_time()
    out = model.generate(prompt, NEW, temperature=0.8, generator=gen, use_cache=use_cache)
    return out, time.process_time() - t0


cached, t_cached = timed_generate(True)
plain, t_plain = timed_generate(False)
new_cached, new_plain = cached[:, prompt.shape[1] :], plain[:, prompt.shape[1] :]
mismatches = int((new_cached != new_plain).sum())
print(f"不同的词元：{mismatches} / {new_cached.numel()}")
print(repr(tok.decode(cached[0, :60])))
report(
    "有缓存与无缓存生成的词元中不同的个数",
    mismatches,
    key="token_mismatches",
    claim="KV 缓存不改变生成结果",
    target="= 0",
    passed=mismatches == 0,
)

# %%
# 每秒词元数
# ----------
n_tokens = prompt.shape[0] * NEW
speed_cached, speed_plain = n_tokens / t_cached, n_tokens / t_plain
speedup = speed_cached / speed_plain
print(f"有缓存 {speed_cached:,.0f} 词元/s，无缓存 {speed_plain:,.0f} 词元/s，加速 {speedup:.1f} 倍")
report("有缓存的生成速度", speed_cached, key="tokens_per_s_cached", unit="词元/s")
report("无缓存的生成速度", speed_plain, key="tokens_per_s_plain", unit="词元/s")
report(
    "上下文 256 时有缓存相对无缓存的加速比",
    speedup,
    key="speedup",
    claim="KV 缓存让生成快数倍（与机器有关）",
    target=">= 3",
    passed=speedup >= 3,
)
cache = model.new_cache(prompt.shape[0])
with torch.no_grad():
    model(cached[:, :BLOCK], cache=cache)
print(f"填满 256 个位置的缓存：{cache.nbytes / 1024:.0f} KiB（4 条序列）")
report("上下文 256、4 条序列的 KV 缓存大小", cache.nbytes / 1024, key="cache_kib", unit="KiB")

# %%
# 每个词元的用时与位置
# --------------------
# 在若干位置 :math:`p` 分别测一步：无缓存时是把前 :math:`p` 个词元整段算一遍；有缓存时
# 先把前 :math:`p-1` 个词元写进缓存（不计时），再只算第 :math:`p` 个。每点取 5 次的中位数。
positions = list(range(16, BLOCK + 1, 16))
per_plain, per_cached = [], []
with torch.no_grad():
    for p in positions:
        a, b = [], []
        for _ in range(5):
            t0 = time.process_time()
            model(cached[:, :p])
            a.append(time.process_time() - t0)
            c = model.new_cache(prompt.shape[0])
            model(cached[:, : p - 1], cache=c)
            t0 = time.process_time()
            model(cached[:, p - 1 : p], cache=c)
            b.append(time.process_time() - t0)
        per_plain.append(sorted(a)[2] * 1e3)
        per_cached.append(sorted(b)[2] * 1e3)
ratio_end = per_plain[-1] / per_cached[-1]
print(f"位置 256 处单步：无缓存 {per_plain[-1]:.2f} ms，有缓存 {per_cached[-1]:.2f} ms")
report("位置 256 处单步用时之比（无缓存 / 有缓存）", ratio_end, key="step_ratio_256")

fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(positions, per_plain, "o-", label="无缓存：每步重算整段上下文")
ax.plot(positions, per_cached, "s-", label="有缓存：每步只算新词元")
ax.set_xlabel("生成位置（已有的词元数）")
ax.set_ylabel("每步用时（ms，4 条序列）")
ax.set_title("KV 缓存：每个新词元的用时")
ax.set_ylim(bottom=0)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 两种方式生成的 4 × 248 个词元逐个相同：缓存只是省去了重复计算，不改变模型算出的分布。
# 无缓存时每步用时随位置线性增长（整段重算），有缓存时几乎不变，因此填满 256 的上下文
# 时缓存快了数倍；上下文越长、批越大，差距越大。这个模型很小，有缓存时每步的用时主要是
# Python 与算子调度的固定开销，而不是计算本身。

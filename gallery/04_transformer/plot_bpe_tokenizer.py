"""
字节对编码：子词词表的压缩率与每字符损失
========================================

字节对编码（byte-pair encoding，BPE）从单个字节出发，反复把最常相邻出现的一对符号
合并成一个新符号，直到词表达到指定大小。这样学到的词元是常见的字母组合、词根和整词，
罕见的词则拆成几段，任何字符串都仍能编码（基本词表是全部 256 个字节值）。

论断（Sennrich 等 2016；Radford 等 2019）：子词词元既能覆盖任意文本（没有“词表外”
的词），又把同一段文本压缩成更少的词元；对语言模型来说，同样多的词元装下了更多的
文字，所以在相同的计算量下，按 **每个字符** 算的损失可以低于逐字符建模。

本例用 :class:`survey_models.text.BPETokenizer`，在《失乐园》训练部分的前 100,000 个
字符上学习合并（为了预算只用一段；全书约 41 万个训练字符），在最后 10% 的验证文本上
测量压缩率（字符/词元），词表从 256（只有字节）到 1024。然后用同一个
:class:`survey_models.transformer.GPT`\\ （2 层、4 头、64 维、上下文 64 个词元）分别在
字符与 512 词表的 BPE 词元上训练 200 步，每步 8 × 64 个词元——步数、每步词元数、
模型结构都相同，只有嵌入表与输出层随词表变大。比较验证文本前 10,000 个字符上的
**奈特/字符**：总奈特数除以被打分的字符数。目标（本项目的设定，事先定下）：BPE 模型的每字符损失低于
字符模型。与论文相比，这里的模型、语料和训练步数都小几个数量级（两个模型都远未训练充分）。
"""

# %%
# 学习合并，测量压缩率
# --------------------
# 训练一次到 1024 个词元：前 :math:`k` 次合并本身就是词表为 :math:`256 + k` 的分词器，
# 所以更小词表的压缩率直接取合并序列的前缀。语料是纯 ASCII，其中只出现 65 个字节值，
# 所以词表 256 就是逐字符编码（每个词元 1 个字符）。
import time

import matplotlib.pyplot as plt

from survey_models import example_seed, setup_example, train
from survey_models.report import report
from survey_models.text import (
    BPETokenizer,
    CharTokenizer,
    bigram_counts,
    bigram_nll,
    load_corpus,
    windows,
)
from survey_models.transformer import GPT, lm_loss

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
text = load_corpus("paradise_lost")
n_val = len(text) // 10
train_text, val_text = text[:-n_val], text[-n_val:]  # 按字符切分：两种词元看同一段验证文本
start = time.process_time()
bpe_full = BPETokenizer.train(train_text[:100_000], 1024)
print(f"学习 {len(bpe_full.merges)} 次合并用时 {time.process_time() - start:.1f} s（CPU）")
print("最早的 12 个合并：", [bpe_full.vocab[256 + k].decode() for k in range(12)])

sizes = [256, 320, 384, 512, 768, 1024]
ratios = []
for v in sizes:
    tok = BPETokenizer(bpe_full.merges[: v - 256])
    ratios.append(len(val_text) / len(tok.encode(val_text)))
    print(f"  词表 {v:4d}：验证文本 {ratios[-1]:.2f} 个字符/词元")
report("词表 512 时验证文本的压缩率", ratios[3], key="chars_per_token_512", unit="字符/词元")
report("词表 1024 时验证文本的压缩率", ratios[-1], key="chars_per_token_1024", unit="字符/词元")
bpe = BPETokenizer(bpe_full.merges[: 512 - 256])
sample = "Him the Almighty Power Hurld headlong flaming"
print(" | ".join(bpe.decode([i]) for i in bpe.encode(sample).tolist()))

# %%
# 相同计算量下的每字符损失
# ------------------------
# 两个模型的配置与训练完全相同（AdamW，学习率 3e-3，批 8，上下文 64 个词元，200 步，
# 同一个种子）。验证窗口互不重叠；每个窗口的第一个词元只作输入，不打分。
# 每字符损失 = 每词元平均损失 × 被打分的词元数 ÷ 这些词元所含的字符数。
BLOCK, STEPS, BATCH = 64, 200, 8
chars = CharTokenizer(text)
results = {}
for name, tok in (("字符", chars), ("BPE 512", bpe)):
    train_ids, val_ids = tok.encode(train_text), tok.encode(val_text[:10_000])
    x, y = windows(train_ids, BLOCK)
    val_x, val_y = windows(val_ids, BLOCK, stride=BLOCK)
    n_chars = len(tok.decode(val_y.reshape(-1)))  # 被打分的字符数
    model = GPT(tok.vocab_size, BLOCK, n_layer=2, n_head=4, d_model=64, positional="learned")
    hist = train.fit(
        model,
        lm_loss,
        (x, y),
        steps=STEPS,
        batch_size=BATCH,
        lr=3e-3,
        optimizer="adamw",
        val_data=(val_x, val_y),
        log_every=50,
        seed=seed + 1,
        grad_clip=1.0,
    )
    print(f"  训练用时 {hist.seconds:.1f} s")
    if tok is chars:  # 参照：字符二元模型（计数来自同一训练文本）
        counts = bigram_counts(train_ids, tok.vocab_size)
        bigram = min(bigram_nll(counts, val_x, val_y, a) for a in (0.01, 0.1, 1.0))
    per_char = [v * val_y.numel() / n_chars for v in hist.val_loss]
    results[name] = (hist.steps, per_char, hist.val_loss[-1], model.num_parameters())
    print(
        f"{name}：参数 {model.num_parameters():,}，验证 {hist.val_loss[-1]:.3f} 奈特/词元 = "
        f"{per_char[-1]:.3f} 奈特/字符（{n_chars:,} 个字符，{val_y.numel():,} 个词元）"
    )

char_loss, bpe_loss = results["字符"][1][-1], results["BPE 512"][1][-1]
report(
    "BPE（词表 512）模型的每字符验证损失",
    bpe_loss,
    key="bpe_nats_per_char",
    unit="奈特/字符",
    claim="相同步数与每步词元数下，BPE 词元的语言模型每字符损失低于字符级模型",
    target=f"< 字符模型 {char_loss:.3f}",
    passed=bpe_loss < char_loss,
)
report("字符级模型的每字符验证损失", char_loss, key="char_nats_per_char", unit="奈特/字符")
report("字符二元模型的验证损失", bigram, key="bigram_nats_per_char", unit="奈特/字符")
report(
    "BPE 模型的每词元验证损失", results["BPE 512"][2], key="bpe_nats_per_token", unit="奈特/词元"
)
report("每字符损失之差（字符 − BPE）", char_loss - bpe_loss, key="loss_gap", unit="奈特/字符")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
ax1.plot(sizes, ratios, "o-")
ax1.set_xscale("log", base=2)
ax1.set_xticks(sizes, [str(v) for v in sizes])
ax1.set_xlabel("词表大小（256 个字节 + 合并数）")
ax1.set_ylabel("验证文本：字符/词元")
ax1.set_title("BPE 的压缩率")
for name, marker in (("字符", "o-"), ("BPE 512", "s-")):
    steps, per_char, _, _ = results[name]
    ax2.plot(steps, per_char, marker, label=name)
ax2.axhline(bigram, color="gray", ls=":", label="字符二元模型")
ax2.set_xlabel("训练步数（每步 8 × 64 个词元）")
ax2.set_ylabel("验证损失（奈特/字符）")
ax2.set_title("相同计算量下的每字符损失")
ax2.legend()
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 词表越大，同一段没见过的文本需要的词元越少，但增益递减：最早的合并是 th、 the、
# and 这样的高频组合，后面的合并只覆盖越来越少的字符。在步数、每步词元数和模型都
# 相同时，BPE 模型的每字符损失明显低于字符模型（差距见上面打印的 ``loss_gap``）；换用其他
# 种子（环境变量 ``SURVEY_SEED``）重跑即可检验，``benchmarks/claims.py`` 汇总 5 个种子上的结果。
# 这个比较对 BPE 有利的地方要说清楚：每个 BPE 词元
# 约含两个字符，所以它每步读到的文字与上下文覆盖的字符都约是字符模型的两倍，参数也
# 稍多；两个模型都只训练了 200 步，字符模型还停在二元模型（图中虚线）附近。结论是“同样的
# 计算预算下，子词词元学得更快”，而不是“训练到收敛后 BPE 一定更好”。

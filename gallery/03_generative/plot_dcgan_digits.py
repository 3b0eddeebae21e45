"""
DCGAN：卷积生成器与 MLP 生成器
==============================

DCGAN（Radford 等 2015）给出了一套让卷积 GAN 稳定训练的结构准则：用步长卷积代替池化，
生成器与判别器都用批归一化（batch normalization），生成器用 ReLU、判别器用 LeakyReLU，
去掉全连接隐藏层。论文据此训练出的卷积 GAN 比此前的全连接 GAN 稳定得多。

**论断与测量**：在 8×8 数字上，用同一个训练循环、同样的非饱和损失、学习率 2e-4 与
:math:`\\beta_1=0.5`\\ （DCGAN 原文的设置）训练 2000 步，比较一个至多 32 通道的小 DCGAN 与
两层 MLP 生成器/判别器的 digits FID；并给出 k-NN 精度/召回率（k = 3）与 1-NN 双样本检验，
每个分数旁边都打印真实对真实的下限。只用了一个种子，这是本例的局限。
"""

# %%
# 真实对真实的下限
# ----------------
# 用测试集（539 张）作为参照，用训练集中同样多的图像作为“完美生成器”的样本。

import matplotlib.pyplot as plt
import torch

from survey_models import data, example_seed, gan, metrics, setup_example
from survey_models.plotting import image_grid
from survey_models.report import report

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
split = data.digits_split(test_fraction=0.3, seed=0)
ref = split.x_test
n_ref = ref.shape[0]


def scores(samples):
    fr, ff = metrics.digits_features(ref), metrics.digits_features(samples)
    p, r = metrics.knn_precision_recall(fr, ff, k=3)
    return {
        "FID": metrics.digits_fid(samples, ref),
        "精度": p,
        "召回率": r,
        "1-NN 准确率": metrics.one_nn_accuracy(fr, ff),
    }


floor = scores(
    split.x_train[
        torch.randperm(len(split.x_train), generator=torch.Generator().manual_seed(seed))[:n_ref]
    ]
)
print("真实对真实：" + "，".join(f"{k} {v:.3f}" for k, v in floor.items()))

# %%
# 训练两种 GAN
# ------------
# DCGAN 生成器：16 维隐变量 → 32×2×2 → 转置卷积到 16×4×4 → 1×8×8；
# 判别器：8×8 → 16×4×4 → 32×2×2 → 线性。MLP 版本是两层 128 宽的全连接网络。
builders = {
    "DCGAN（卷积）": lambda: (
        gan.DCGANGenerator(latent_dim=16, channels=32),
        gan.DCGANDiscriminator(channels=32),
    ),
    "MLP GAN": lambda: (
        gan.MLPGenerator(16, 64, hidden=128, depth=2, out_activation="sigmoid"),
        gan.MLPDiscriminator(64, hidden=128, depth=2),
    ),
}
results, samples, pixel_stds = {}, {}, {}
for name, build in builders.items():
    torch.manual_seed(seed)
    G, D = build()
    n_params = sum(p.numel() for p in G.parameters()) + sum(p.numel() for p in D.parameters())
    hist = gan.train_adversarial(
        G,
        D,
        split.x_train,
        loss="nonsaturating",
        steps=2000,
        batch_size=64,
        lr_g=2e-4,
        lr_d=2e-4,
        seed=seed,
    )
    samples[name] = gan.sample(G, n_ref, seed=seed + 1)
    results[name] = scores(samples[name])
    pixel_stds[name] = samples[name].std(0).mean().item()
    print(
        f"{name}: 参数 {n_params}，用时 {hist.seconds:.1f} s，"
        + "，".join(f"{k} {v:.3f}" for k, v in results[name].items())
        + f"，样本逐像素标准差 {pixel_stds[name]:.3f}"
    )

dc, mlp = results["DCGAN（卷积）"], results["MLP GAN"]
report(
    "DCGAN 的 digits FID",
    dc["FID"],
    key="dcgan_fid",
    claim="卷积结构的 GAN 生成质量优于全连接 GAN",
    target=f"低于 MLP GAN（{mlp['FID']:.1f}）；真实下限 {floor['FID']:.2f}",
    passed=dc["FID"] < mlp["FID"],
)
report(
    "MLP GAN 的 digits FID", mlp["FID"], key="mlp_fid", target=f"记录；真实下限 {floor['FID']:.2f}"
)
report("真实对真实的 digits FID（下限）", floor["FID"], key="fid_floor")
report(
    "DCGAN 的 k-NN 召回率",
    dc["召回率"],
    key="dcgan_recall",
    target=f"记录；真实下限 {floor['召回率']:.3f}",
)
report(
    "MLP GAN 的 k-NN 召回率",
    mlp["召回率"],
    key="mlp_recall",
    target=f"记录；真实下限 {floor['召回率']:.3f}",
)
report(
    "MLP GAN 样本的逐像素标准差",
    pixel_stds["MLP GAN"],
    key="mlp_pixel_std",
    target=f"记录；DCGAN 为 {pixel_stds['DCGAN（卷积）']:.3f}",
)
report(
    "DCGAN 的 1-NN 准确率",
    dc["1-NN 准确率"],
    key="dcgan_1nn",
    target=f"记录；0.5 为不可区分，真实对真实 {floor['1-NN 准确率']:.3f}",
)

# %%
# 样本
# ----
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
image_grid(ref[:40], ncols=8, ax=axes[0], title="真实测试图像")
for ax, (name, s) in zip(axes[1:], samples.items()):
    image_grid(s[:40], ncols=8, ax=ax, title=f"{name}，FID {results[name]['FID']:.1f}")
fig.tight_layout()

fig, ax = plt.subplots(figsize=(6.4, 3.4))
names = ["真实对真实"] + list(results)
vals = [floor["FID"]] + [results[n]["FID"] for n in results]
ax.bar(names, vals, color=["gray", "C0", "C1"])
ax.set_yscale("log")
ax.set_ylabel("digits FID（对数坐标，越低越好）")
ax.set_title("同一训练循环、同样步数下的 digits FID")
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 在同样的损失、优化器与步数下，小 DCGAN 的 digits FID 远低于 MLP GAN。上面打印的
# 逐像素标准差说明了原因：本次运行中 MLP 生成器的样本几乎一模一样（模式崩塌），
# 而带批归一化的卷积生成器保持了多样性。这只是一个种子、一组超参数的结果；
# 更大的学习率下 MLP GAN 也能慢慢摆脱崩塌，本例没有为它单独调参。

"""
WGAN 与 WGAN-GP：判别器越好，生成器的梯度越小？
================================================

Arjovsky 与 Bottou（2017）证明：当真实分布与生成分布的支撑集几乎不相交时，
最优判别器使原始 GAN（JS 散度）给生成器的梯度趋于零；他们固定生成器、
把判别器训练得越来越好，观察到生成器梯度的范数迅速下降。WGAN（Arjovsky 等 2017）
改用 Wasserstein 距离的对偶形式，用一个 1-Lipschitz 的“评论家” f 代替判别器；
WGAN-GP（Gulrajani 等 2017）用梯度惩罚 :math:`\\mathbb{E}(\\lVert\\nabla f(\\hat x)\\rVert-1)^2`
代替权重裁剪来约束 Lipschitz 常数。

**论断与测量**\\ （在 8×8 数字上）：

1. 固定一个随机初始化的生成器，把判别器训练 1000 步：JS 损失下生成器梯度范数下降超过
   :math:`10^6` 倍，而 WGAN-GP 评论家给出的梯度保持在 1 的量级；
2. 训练 WGAN-GP 时，评论家对 Wasserstein 距离的估计随样本质量（digits FID）一同下降。
"""

# %%
# 论断 1：固定生成器，训练判别器 / 评论家
# ---------------------------------------
# 两种情形用同样的网络（两层 128 宽的 MLP）与优化器：Adam，学习率 1e-3，
# :math:`\beta=(0.5, 0.9)`\ （WGAN-GP 原文的设置），批大小 128。JS 情形最小化判别器损失，
# 并测量饱和生成器损失 :math:`\mathbb{E}\log(1-D(G(z)))` 对生成器参数的梯度；
# WGAN-GP 情形最小化评论家损失加 10 倍梯度惩罚，并测量 :math:`-\mathbb{E} f(G(z))` 的梯度。
import time

import matplotlib.pyplot as plt
import torch

from survey_models import data, example_seed, gan, metrics, setup_example
from survey_models.report import report

setup_example()
seed = example_seed()  # SURVEY_SEED moves the whole run; 0 builds the book
split = data.digits_split(test_fraction=0.3, seed=0)
x = split.x_train


def generator_grad_norm(G, D, loss_fn, z):
    G.zero_grad(set_to_none=True)
    loss_fn(D(G(z))).backward()
    return torch.sqrt(sum((p.grad**2).sum() for p in G.parameters())).item()


torch.manual_seed(seed)
G_fixed = gan.MLPGenerator(16, 64, hidden=128, depth=2, out_activation="sigmoid")
z_eval = torch.randn(512, 16, generator=torch.Generator().manual_seed(seed + 1))
checkpoints = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
norms: dict[str, list[float]] = {}
start = time.perf_counter()
for kind in ("JS（原始 GAN）", "WGAN-GP"):
    torch.manual_seed(seed + 1)
    D = gan.MLPDiscriminator(64, hidden=128, depth=2)
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    g = torch.Generator().manual_seed(seed + 2)
    norms[kind] = []
    for step in range(1, 1001):
        real = x[torch.randint(len(x), (128,), generator=g)]
        with torch.no_grad():
            fake = G_fixed(torch.randn(128, 16, generator=g))
        if kind == "WGAN-GP":
            loss = gan.critic_loss_wasserstein(D(real), D(fake)) + 10 * gan.gradient_penalty(
                D, real, fake, generator=g
            )
        else:
            loss = gan.discriminator_loss(D(real), D(fake))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step in checkpoints:
            g_loss = (
                gan.generator_loss_wasserstein
                if kind == "WGAN-GP"
                else gan.generator_loss_saturating
            )
            norms[kind].append(generator_grad_norm(G_fixed, D, g_loss, z_eval))
    print(f"{kind}: 生成器梯度范数 第 1 步 {norms[kind][0]:.3g}，第 1000 步 {norms[kind][-1]:.3g}")
print(f"论断 1 用时 {time.perf_counter() - start:.1f} s")

drop = norms["JS（原始 GAN）"][0] / norms["JS（原始 GAN）"][-1]
report(
    "JS 损失下生成器梯度范数的下降倍数（判别器训练 1000 步）",
    drop,
    key="js_drop",
    claim="判别器趋于最优时原始 GAN 给生成器的梯度消失",
    target="> 1e6",
    passed=drop > 1e6,
)
wgp = norms["WGAN-GP"][-1]
report(
    "WGAN-GP 评论家训练 1000 步后的生成器梯度范数",
    wgp,
    key="wgp_norm",
    claim="WGAN-GP 评论家的梯度不消失",
    target="在 0.1 与 10 之间",
    passed=0.1 < wgp < 10,
)
report(
    "WGAN-GP 评论家训练中各检查点的最小生成器梯度范数", min(norms["WGAN-GP"]), key="wgp_norm_min"
)
report(
    "WGAN-GP 评论家训练中各检查点的最大生成器梯度范数", max(norms["WGAN-GP"]), key="wgp_norm_max"
)

# %%
# 论断 2：评论家的估计跟踪样本质量
# --------------------------------
# 训练一个 MLP 生成器的 WGAN-GP：每个生成器步训练评论家 5 步，学习率 5e-4，
# 共 1000 个生成器步。每 50 步在测试集与 500 个固定隐变量的样本上计算评论家的估计
# :math:`\hat W = \mathbb{E}f(x) - \mathbb{E}f(G(z))` 与 digits FID。
z_fixed = torch.randn(500, 16, generator=torch.Generator().manual_seed(seed + 5))
fid_floor = metrics.digits_fid(split.x_test, split.x_train)


def track(step, G, D):
    fake = G(z_fixed)
    return {
        "w": (D(split.x_test).mean() - D(fake).mean()).item(),
        "fid": metrics.digits_fid(fake, split.x_test),
    }


torch.manual_seed(seed)
G = gan.MLPGenerator(16, 64, hidden=128, depth=2, out_activation="sigmoid")
critic = gan.MLPDiscriminator(64, hidden=128, depth=2)
history = gan.train_adversarial(
    G,
    critic,
    x,
    loss="wasserstein",
    gp_weight=10.0,
    n_critic=5,
    steps=1000,
    batch_size=64,
    lr_g=5e-4,
    lr_d=5e-4,
    betas=(0.5, 0.9),
    log_every=50,
    callback=track,
    seed=seed,
)
w_est = torch.tensor([e["w"] for e in history.extra])
fids = torch.tensor([e["fid"] for e in history.extra])
print(
    f"WGAN-GP 训练用时 {history.seconds:.1f} s；最终 digits FID {fids[-1]:.2f}"
    f"（真实对真实的下限 {fid_floor:.2f}）"
)


def spearman(a, b):
    ranks = [t.argsort().argsort().double() for t in (a, b)]
    return torch.corrcoef(torch.stack(ranks))[0, 1].item()


rho = spearman(w_est, fids)
# Twenty checkpoints are few, and the trajectory shifts with how the CPU rounds. Resample
# the checkpoints (bootstrap, 2000 times) for the standard error of ρ, and count the claim
# as met only if ρ stays above 0.5 by two standard errors.
picks = torch.randint(
    0, len(fids), (2000, len(fids)), generator=torch.Generator().manual_seed(seed)
)
boot = torch.tensor([spearman(w_est[i], fids[i]) for i in picks])
rho_se = boot[boot.isfinite()].std().item()
report(
    "评论家估计与 digits FID 的 Spearman 相关系数",
    rho,
    key="rho",
    claim="WGAN 评论家的估计与样本质量相关",
    target="见下两项",
)
report("ρ 的自助法标准误（20 个检查点重采样 2000 次）", rho_se, key="rho_se")
report(
    "ρ 减两个标准误",
    rho - 2 * rho_se,
    key="rho_low",
    claim="WGAN 评论家的估计与样本质量相关（扣除抽样误差后）",
    target="> 0.5",
    passed=rho - 2 * rho_se > 0.5,
)
report(
    "WGAN-GP（MLP）最终 digits FID",
    fids[-1].item(),
    key="final_fid",
    target=f"记录；真实对真实下限 {fid_floor:.2f}",
)
report("真实对真实的 digits FID（下限）", fid_floor, key="fid_floor")

# %%
# 图：梯度范数与训练曲线
# ----------------------
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for kind, ns in norms.items():
    axes[0].loglog(checkpoints, ns, marker="o", label=kind)
axes[0].set_xlabel("判别器 / 评论家训练步数（生成器固定）")
axes[0].set_ylabel("生成器梯度范数")
axes[0].set_title("判别器越接近最优，JS 损失的梯度越小")
axes[0].legend()
ax = axes[1]
ax.plot(history.steps, w_est, color="C0", marker=".", label="评论家估计 $\\hat W$")
ax.set_xlabel("生成器训练步数")
ax.set_ylabel("评论家估计 $\\hat W$", color="C0")
ax2 = ax.twinx()
ax2.semilogy(history.steps, fids, color="C1", marker=".", label="digits FID")
ax2.axhline(fid_floor, color="C1", ls=":", label="真实对真实下限")
ax2.set_ylabel("digits FID（对数坐标）", color="C1")
ax2.legend(loc="upper right")
ax.set_title("WGAN-GP 训练：评论家估计与样本质量")
fig.tight_layout()
plt.show()

# %%
# 结论
# ----
# 固定生成器时，原始 GAN 的判别器越接近最优，生成器得到的梯度就越小，1000 步后下降了
# 多个数量级；WGAN-GP 的评论家给出的梯度没有消失（各检查点的最小值与最大值见上）——
# 这正是 WGAN 的出发点。
# 训练过程中，评论家的估计与 digits FID 同向变化（秩相关见上），在前几百步尤为明显；
# 后期 FID 继续下降而估计趋于平稳，整个训练过程的秩相关因此不高（是否达到 0.5 的目标见上面的测量），
# 在这个规模上它只是质量的粗略指示。

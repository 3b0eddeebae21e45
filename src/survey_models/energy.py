"""Energy-based models: the restricted Boltzmann machine (RBM) and the deep belief net (DBN).

A Bernoulli RBM over visible units ``v ∈ {0,1}^D`` and hidden units ``h ∈ {0,1}^H`` has

.. math::

    E(v, h) = -b^\\top v - c^\\top h - v^\\top W h                      \\qquad (1)

    p(v, h) = e^{-E(v,h)} / Z                                          \\qquad (2)

    F(v) = -b^\\top v - \\sum_j \\operatorname{softplus}(c_j + (W^\\top v)_j)  \\qquad (3)

    p(h_j = 1 | v) = \\sigma(c_j + (W^\\top v)_j),\\quad
    p(v_i = 1 | h) = \\sigma(b_i + (W h)_i)                              \\qquad (4)

    \\frac{\\partial \\log p(v)}{\\partial W} = v\\,p(h|v)^\\top
        - \\mathbb{E}_{p(v',h')}[v' h'^\\top]                               \\qquad (5)

Contrastive divergence CD-k (Hinton 2002) replaces the model expectation in (5) by the
statistics after k Gibbs steps started at the data; persistent CD (PCD, Tieleman 2008)
keeps the chains running across parameter updates. With few hidden units, ``log Z`` is
exact by summing the hidden states out analytically and enumerating them:
``log Z = logsumexp_h [c^T h + Σ_i softplus(b_i + (W h)_i)]``.

A DBN (Hinton, Osindero & Teh 2006) stacks RBMs trained greedily, one layer on the
hidden probabilities of the layer below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.functional import softplus

from ._checks import (
    check_choice,
    check_finite_tensor,
    check_nonnegative_float,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_seed,
    check_tensor,
)

MAX_ENUMERATED_UNITS = 20


class RBM(nn.Module):
    """A Bernoulli-Bernoulli restricted Boltzmann machine, equations (1)-(5).

    Args:
        n_visible: D, the number of visible units.
        n_hidden: H, the number of hidden units.
        init_std: standard deviation of the initial weights (biases start at 0).

    Shapes: ``v: (batch, n_visible)`` with entries in [0, 1]; ``h: (batch, n_hidden)``.
    Calling the module, ``rbm(v)``, gives the hidden-unit probabilities ``p(h=1|v)`` of
    equation (4) (:meth:`p_h`): the features an RBM passes up a DBN.
    """

    def __init__(self, n_visible: int, n_hidden: int, init_std: float = 0.01) -> None:
        super().__init__()
        self.n_visible = check_positive_int("n_visible", n_visible)
        self.n_hidden = check_positive_int("n_hidden", n_hidden)
        init_std = check_nonnegative_float("init_std", init_std)
        self.W = nn.Parameter(init_std * torch.randn(n_visible, n_hidden))
        self.b = nn.Parameter(torch.zeros(n_visible))  # visible bias
        self.c = nn.Parameter(torch.zeros(n_hidden))  # hidden bias

    def extra_repr(self) -> str:
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}"

    def _v(self, v: object, name: str = "v") -> torch.Tensor:
        return check_tensor(name, v, ndim=2, last_dim=self.n_visible, floating=True)

    def _h(self, h: object, name: str = "h") -> torch.Tensor:
        return check_tensor(name, h, ndim=2, last_dim=self.n_hidden, floating=True)

    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Equation (1): ``E(v,h) = -b·v - c·h - vᵀWh``, shape ``(batch,)``."""
        v, h = self._v(v), self._h(h)
        return -(v @ self.b) - (h @ self.c) - ((v @ self.W) * h).sum(1)

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """Equation (3): ``F(v) = -b·v - Σ_j softplus(c_j + (Wᵀv)_j)``, shape ``(batch,)``."""
        v = self._v(v)
        return -(v @ self.b) - softplus(v @ self.W + self.c).sum(1)

    def p_h(self, v: torch.Tensor) -> torch.Tensor:
        """Equation (4): ``p(h=1|v)``, shape ``(batch, n_hidden)``."""
        return torch.sigmoid(self._v(v) @ self.W + self.c)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """The hidden-unit probabilities ``p(h=1|v)`` of equation (4), ``(batch, n_hidden)``."""
        return self.p_h(v)

    def p_v(self, h: torch.Tensor) -> torch.Tensor:
        """Equation (4): ``p(v=1|h)``, shape ``(batch, n_visible)``."""
        return torch.sigmoid(self._h(h) @ self.W.T + self.b)

    def gibbs(
        self, v: torch.Tensor, k: int = 1, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Run ``k`` steps of block Gibbs sampling v → h → v; returns binary ``v``."""
        k = check_positive_int("k", k)
        v = self._v(v)
        for _ in range(k):
            h = torch.bernoulli(self.p_h(v), generator=generator)
            v = torch.bernoulli(self.p_v(h), generator=generator)
        return v

    def _hidden_states(self) -> torch.Tensor:
        if self.n_hidden > MAX_ENUMERATED_UNITS:
            raise ValueError(
                f"exact log Z enumerates 2^n_hidden states; n_hidden must be <= "
                f"{MAX_ENUMERATED_UNITS}, got {self.n_hidden}"
            )
        codes = torch.arange(2**self.n_hidden)
        bits = (codes[:, None] >> torch.arange(self.n_hidden)) & 1
        return bits.to(self.W.dtype)

    def log_partition(self) -> torch.Tensor:
        """Exact ``log Z`` by enumerating the 2^H hidden states (visible units summed out).

        ``log Z = logsumexp_h [cᵀh + Σ_i softplus(b_i + (W h)_i)]``; differentiable.
        """
        h = self._hidden_states()
        return torch.logsumexp(h @ self.c + softplus(h @ self.W.T + self.b).sum(1), dim=0)

    def log_likelihood(self, v: torch.Tensor) -> torch.Tensor:
        """Exact ``log p(v) = -F(v) - log Z`` in nats, shape ``(batch,)``."""
        return -self.free_energy(v) - self.log_partition()

    def exact_gradient(self, v: torch.Tensor) -> dict[str, torch.Tensor]:
        """Exact gradient (5) of the mean log-likelihood of ``v`` w.r.t. W, b, c (by autograd
        through the enumerated ``log Z``)."""
        params = [self.W, self.b, self.c]
        grads = torch.autograd.grad(self.log_likelihood(v).mean(), params)
        return dict(zip(("W", "b", "c"), grads))

    @torch.no_grad()
    def cd_gradient(self, v: torch.Tensor, negative: torch.Tensor) -> dict[str, torch.Tensor]:
        """Estimate of gradient (5): data statistics minus statistics at ``negative``.

        ``negative`` is the visible state of the negative chains: ``gibbs(v, k)`` for CD-k,
        the persistent chains for PCD. Hidden statistics use probabilities (Rao-Blackwell).
        """
        v, negative = self._v(v), self._v(negative, "negative")
        ph, nh = self.p_h(v), self.p_h(negative)
        return {
            "W": v.T @ ph / v.shape[0] - negative.T @ nh / negative.shape[0],
            "b": v.mean(0) - negative.mean(0),
            "c": ph.mean(0) - nh.mean(0),
        }


@dataclass
class RBMHistory:
    """What :func:`train_rbm` measured: epochs and (optional) mean log-likelihood in nats."""

    epochs: list[int] = field(default_factory=list)
    log_likelihood: list[float] = field(default_factory=list)


def train_rbm(
    rbm: RBM,
    data: torch.Tensor,
    *,
    method: str = "cd",
    k: int = 1,
    epochs: int = 20,
    batch_size: int = 20,
    lr: float = 0.05,
    lr_decay: bool = True,
    momentum: float = 0.5,
    weight_decay: float = 0.0,
    eval_data: torch.Tensor | None = None,
    eval_every: int = 0,
    seed: int = 0,
) -> RBMHistory:
    """Train ``rbm`` by CD-k (``method="cd"``) or persistent CD (``method="pcd"``).

    Plain gradient ascent with momentum on estimate (5); with ``lr_decay`` the learning
    rate falls linearly to 0 over training. For PCD the number of persistent chains equals
    ``batch_size``, started from random data rows. ``eval_data`` is scored with the exact
    log-likelihood every ``eval_every`` epochs (needs ``n_hidden`` <= 20).
    """
    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be an RBM, got {type(rbm).__name__}")
    check_tensor("data", data, ndim=2, last_dim=rbm.n_visible, floating=True, min_rows=1)
    check_finite_tensor("data", data)
    if eval_data is not None:
        check_tensor(
            "eval_data", eval_data, ndim=2, last_dim=rbm.n_visible, floating=True, min_rows=1
        )
    method = check_choice("method", method, ("cd", "pcd"))
    k = check_positive_int("k", k)
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    lr = check_positive_float("lr", lr)
    momentum = check_probability("momentum", momentum)
    weight_decay = check_nonnegative_float("weight_decay", weight_decay)
    eval_every = check_nonnegative_int("eval_every", eval_every)
    g = torch.Generator().manual_seed(check_seed(seed))
    n = data.shape[0]
    steps_total = epochs * math.ceil(n / batch_size)
    chains = data[torch.randint(n, (batch_size,), generator=g)].clone()
    velocity = {name: torch.zeros_like(p) for name, p in (("W", rbm.W), ("b", rbm.b), ("c", rbm.c))}
    history = RBMHistory()
    step = 0
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, batch_size):
            v = data[perm[i : i + batch_size]]
            with torch.no_grad():
                if method == "cd":
                    negative = rbm.gibbs(v, k, generator=g)
                else:
                    chains = rbm.gibbs(chains, k, generator=g)
                    negative = chains
                grad = rbm.cd_gradient(v, negative)
                rate = lr * (1 - step / steps_total) if lr_decay else lr
                for name, p in (("W", rbm.W), ("b", rbm.b), ("c", rbm.c)):
                    gp = grad[name] - (weight_decay * p if name == "W" else 0)
                    velocity[name].mul_(momentum).add_(gp)
                    p.add_(rate * velocity[name])  # ascent on the log-likelihood
            step += 1
        if eval_data is not None and eval_every and (epoch % eval_every == 0 or epoch == epochs):
            with torch.no_grad():
                history.epochs.append(epoch)
                history.log_likelihood.append(float(rbm.log_likelihood(eval_data).mean()))
    return history


def bernoulli_baseline_log_likelihood(
    train: torch.Tensor, test: torch.Tensor, smoothing: float = 1.0
) -> float:
    """Mean test log-likelihood (nats) of independent Bernoulli pixels fitted to ``train``.

    Pixel probabilities are the training frequencies with add-``smoothing`` counts.
    """
    check_tensor("train", train, ndim=2, floating=True, min_rows=1)
    check_tensor("test", test, ndim=2, last_dim=train.shape[1], floating=True, min_rows=1)
    smoothing = check_positive_float("smoothing", smoothing)
    p = (train.sum(0) + smoothing) / (train.shape[0] + 2 * smoothing)
    ll = test * torch.log(p) + (1 - test) * torch.log1p(-p)
    return float(ll.sum(1).mean())


class DBN(nn.Module):
    """A deep belief net: a stack of RBMs trained greedily, layer by layer.

    Args:
        sizes: layer widths ``[n_visible, h1, h2, ...]`` (at least two entries).

    The top two layers form an undirected RBM; the lower layers act as a directed
    sigmoid belief net ``p(h_{l-1} | h_l)`` when sampling.
    """

    def __init__(self, sizes: list[int]) -> None:
        super().__init__()
        if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
            raise ValueError(f"sizes must be a list of at least two layer widths, got {sizes!r}")
        self.sizes = [check_positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        self.rbms = nn.ModuleList(RBM(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    def pretrain(self, data: torch.Tensor, **train_kwargs) -> list[RBMHistory]:
        """Greedy layer-wise training: RBM l learns from ``p(h_{l-1}=1|·)`` of the layer below.

        Keyword arguments go to :func:`train_rbm` for every layer.
        """
        check_tensor("data", data, ndim=2, last_dim=self.sizes[0], floating=True)
        histories = []
        x = data
        for rbm in self.rbms:
            histories.append(train_rbm(rbm, x, **train_kwargs))
            with torch.no_grad():
                x = rbm.p_h(x)
        return histories

    @torch.no_grad()
    def up(self, v: torch.Tensor) -> torch.Tensor:
        """Deterministic up-pass: the top layer's hidden probabilities, ``(batch, sizes[-1])``."""
        x = check_tensor("v", v, ndim=2, last_dim=self.sizes[0], floating=True)
        for rbm in self.rbms:
            x = rbm.p_h(x)
        return x

    @torch.no_grad()
    def sample(
        self,
        n: int,
        gibbs_steps: int = 200,
        start: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` samples: Gibbs in the top RBM, then one pass down through the stack.

        ``start`` (visible data, ``(n, sizes[0])``) initialises the top chain from its
        up-pass; otherwise the chain starts from random binary states. Returns the
        visible probabilities ``p(v=1|h_1)``, shape ``(n, sizes[0])``.
        """
        n = check_positive_int("n", n)
        gibbs_steps = check_positive_int("gibbs_steps", gibbs_steps)
        top = self.rbms[-1]
        if start is not None:
            check_tensor("start", start, ndim=2, last_dim=self.sizes[0], floating=True, min_rows=n)
            x = start[:n]
            for rbm in self.rbms[:-1]:
                x = rbm.p_h(x)
            x = torch.bernoulli(x, generator=generator)
        else:
            x = torch.bernoulli(torch.full((n, top.n_visible), 0.5), generator=generator)
        x = top.gibbs(x, gibbs_steps, generator=generator)
        probs = top.p_v(torch.bernoulli(top.p_h(x), generator=generator))
        for rbm in reversed(self.rbms[:-1]):
            probs = rbm.p_v(torch.bernoulli(probs, generator=generator))
        return probs

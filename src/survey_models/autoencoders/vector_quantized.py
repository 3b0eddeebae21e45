"""Vector-quantised variational autoencoder, VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017),
and an autoregressive prior over its grid of codes.

The encoder maps an image to a grid of vectors ``z_e(x)``; each vector is replaced by its
nearest entry of a learned codebook ``e_1..e_K``:

.. math::

    k(i) = \\arg\\min_j \\lVert z_e(x)_i - e_j \\rVert_2^2, \\qquad z_q(x)_i = e_{k(i)}  \\qquad (1)

The arg-min has no gradient, so the decoder's gradient is copied straight through to the
encoder (the straight-through estimator):

.. math::

    \\nabla_{z_e} L := \\nabla_{z_q} L  \\qquad (2)

Training minimises, per image (``sg`` is the stop-gradient operator),

.. math::

    L = \\lVert x - D(z_q(x)) \\rVert^2
        + \\lVert \\mathrm{sg}[z_e(x)] - e \\rVert^2
        + \\beta \\lVert z_e(x) - \\mathrm{sg}[e] \\rVert^2, \\qquad \\beta = 0.25  \\qquad (3)

the reconstruction term (which trains decoder and, through (2), encoder), the codebook
term (which moves only the codebook towards the encoder outputs) and the commitment term
(which keeps only the encoder close to its chosen codes). How evenly the codes are used is
measured by the perplexity of the average assignment ``p_k`` (the share of vectors that
chose code ``k``):

.. math::

    \\mathrm{PPL} = \\exp\\Bigl(-\\sum_k p_k \\log p_k\\Bigr)  \\qquad (4)

which is ``K`` when every code is used equally and 1 when one code takes everything; a
code that is never chosen is a *dead code* (codebook collapse).

A second stage fits a prior ``p(k_1..k_M) = Π_i p(k_i | k_{<i})`` over the codes of the
training images in raster order — a PixelCNN in the paper, here
:class:`survey_models.transformer.GPT` with :func:`prior_sequences` and
:func:`sample_prior` — and samples images by sampling codes and decoding them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .._checks import (
    check_finite_tensor,
    check_index_tensor,
    check_module,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_tensor,
)

__all__ = [
    "VectorQuantizer",
    "Quantized",
    "VQVAE",
    "vqvae_loss",
    "code_usage",
    "codebook_perplexity",
    "prior_sequences",
    "sample_prior",
]


def code_usage(indices: torch.Tensor, num_codes: int) -> torch.Tensor:
    """How many times each code was chosen: ``indices`` (any shape, values in
    ``[0, num_codes)``) → counts ``(num_codes,)`` int64. Zero counts are dead codes."""
    num_codes = check_positive_int("num_codes", num_codes)
    check_index_tensor("indices", indices, num_codes)
    return torch.bincount(indices.reshape(-1), minlength=num_codes)


def codebook_perplexity(indices: torch.Tensor, num_codes: int) -> float:
    """Equation (4): ``exp(-Σ_k p_k log p_k)`` of the codes' usage shares (in float64).

    ``K`` for uniform usage of all ``num_codes`` codes, 1 when a single code is used.
    """
    counts = code_usage(indices, num_codes).double()
    if counts.sum() == 0:
        raise ValueError("indices must hold at least one code")
    p = counts / counts.sum()
    return float(torch.exp(-torch.special.xlogy(p, p).sum()))  # (4), 0·log 0 = 0


@dataclass
class Quantized:
    """What :class:`VectorQuantizer` returns for ``z_e: (batch, ..., code_dim)``.

    ``quantized`` has the shape of ``z_e``: the codes ``e_k`` in the forward pass, with the
    straight-through gradient (2) to ``z_e`` in the backward pass. ``indices``:
    ``(batch, ...)`` int64. ``codebook_loss`` and ``commitment_loss`` are the second and
    third terms of (3) *without* β, summed over positions and dimensions and averaged over
    the batch. ``perplexity`` is (4) over this batch.
    """

    quantized: torch.Tensor
    indices: torch.Tensor
    codebook_loss: torch.Tensor
    commitment_loss: torch.Tensor
    perplexity: float


class VectorQuantizer(nn.Module):
    """A learned codebook of ``num_codes`` vectors of size ``code_dim`` (equations (1)-(4)).

    Args:
        num_codes: ``K``, the number of codebook entries.
        code_dim: ``D``, the size of each vector.
        beta: β of equation (3), the weight of the commitment term (0.25 in the paper).

    The codebook is initialised uniformly in ``[-1/K, 1/K]`` (as in the authors' code).
    ``forward(z_e)`` takes ``z_e: (batch, ..., code_dim)`` and returns a :class:`Quantized`.
    """

    def __init__(self, num_codes: int, code_dim: int, beta: float = 0.25) -> None:
        super().__init__()
        self.num_codes = check_positive_int("num_codes", num_codes)
        self.code_dim = check_positive_int("code_dim", code_dim)
        self.beta = check_nonnegative_float("beta", beta)
        self.codebook = nn.Embedding(num_codes, code_dim)
        nn.init.uniform_(self.codebook.weight, -1 / num_codes, 1 / num_codes)

    def extra_repr(self) -> str:
        return f"num_codes={self.num_codes}, code_dim={self.code_dim}, beta={self.beta}"

    def _check(self, z_e: object) -> torch.Tensor:
        check_tensor("z_e", z_e, last_dim=self.code_dim, floating=True)
        assert isinstance(z_e, torch.Tensor)
        if z_e.dim() < 2 or z_e.shape[0] == 0:
            raise ValueError(
                f"z_e must have shape (batch, ..., {self.code_dim}) with batch >= 1, "
                f"got {tuple(z_e.shape)}"
            )
        return z_e

    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Equation (1): index of the nearest code of each vector, ``(batch, ...)`` int64.

        Squared distances ``‖z‖² - 2 z·e + ‖e‖²`` to every code; ties go to the lowest index.
        """
        z_e = self._check(z_e)
        flat = z_e.detach().reshape(-1, self.code_dim)
        e = self.codebook.weight.detach()
        d2 = (flat**2).sum(1, keepdim=True) - 2 * flat @ e.T + (e**2).sum(1)  # (N, K)
        return d2.argmin(1).reshape(z_e.shape[:-1])

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """The codes ``e_k`` for ``indices`` (any shape) → ``(*indices.shape, code_dim)``."""
        check_index_tensor("indices", indices, self.num_codes)
        return self.codebook(indices)

    def forward(self, z_e: torch.Tensor) -> Quantized:
        z_e = self._check(z_e)
        indices = self.nearest(z_e)  # (1)
        e = self.codebook(indices)  # z_q = e_k, differentiable w.r.t. the codebook
        batch = z_e.shape[0]
        codebook_loss = ((z_e.detach() - e) ** 2).sum() / batch  # (3) ‖sg[z_e] - e‖²
        commitment_loss = ((z_e - e.detach()) ** 2).sum() / batch  # (3) ‖z_e - sg[e]‖²
        # (2) straight through: the value is exactly e (z_e - sg[z_e] is exactly 0), the
        # gradient w.r.t. z_e is exactly the gradient w.r.t. the output.
        quantized = (z_e - z_e.detach()) + e.detach()
        return Quantized(
            quantized=quantized,
            indices=indices,
            codebook_loss=codebook_loss,
            commitment_loss=commitment_loss,
            perplexity=codebook_perplexity(indices, self.num_codes),
        )


def _downsamplings(side: int, grid: int) -> int:
    ratio, n = side // grid, 0
    if side % grid or ratio & (ratio - 1):
        raise ValueError(f"side / grid must be a power of two, got side={side}, grid={grid}")
    while ratio > 1:
        ratio //= 2
        n += 1
    return n


class VQVAE(nn.Module):
    """A small convolutional VQ-VAE for ``side × side`` grey images (8×8 digits by default).

    Args:
        num_codes: ``K``, the codebook size.
        code_dim: ``D``, the size of each code vector.
        grid: the code grid is ``grid × grid`` (``side / grid`` a power of two); each
            stride-2 convolution halves the side.
        hidden: channels of the convolutions.
        beta: β of equation (3).
        side: image side; images are flattened rows ``(batch, side*side)`` in [0, 1].

    Encoder: one 4×4 stride-2 convolution (ReLU) per halving of the side, then a 1×1
    convolution to ``D`` channels. Decoder: a 3×3 convolution (ReLU), then one 4×4
    stride-2 transposed convolution per doubling, then a sigmoid.

    Shapes: ``x: (batch, side*side)``; ``encode_continuous(x)``: ``(batch, grid, grid, D)``;
    ``encode(x)``: code indices ``(batch, grid*grid)`` in raster order;
    ``decode_indices(indices)`` and ``forward(x)``: images ``(batch, side*side)``.
    """

    def __init__(
        self,
        num_codes: int = 32,
        code_dim: int = 8,
        grid: int = 4,
        hidden: int = 32,
        beta: float = 0.25,
        side: int = 8,
    ) -> None:
        super().__init__()
        self.side = check_positive_int("side", side)
        self.grid = check_positive_int("grid", grid)
        hidden = check_positive_int("hidden", hidden)
        n_down = _downsamplings(side, grid)
        self.quantizer = VectorQuantizer(num_codes, code_dim, beta)
        enc: list[nn.Module] = []
        channels = 1
        for _ in range(n_down):  # each 4×4 stride-2 convolution halves the side
            enc += [nn.Conv2d(channels, hidden, 4, stride=2, padding=1), nn.ReLU()]
            channels = hidden
        if n_down == 0:
            enc += [nn.Conv2d(1, hidden, 3, padding=1), nn.ReLU()]
        enc.append(nn.Conv2d(hidden, code_dim, 1))
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv2d(code_dim, hidden, 3, padding=1), nn.ReLU()]
        for i in range(n_down):  # the mirror image: transposed convolutions double the side
            last = i == n_down - 1
            dec.append(nn.ConvTranspose2d(hidden, 1 if last else hidden, 4, stride=2, padding=1))
            if not last:
                dec.append(nn.ReLU())
        if n_down == 0:
            dec.append(nn.Conv2d(hidden, 1, 3, padding=1))
        dec.append(nn.Sigmoid())
        self.decoder = nn.Sequential(*dec)

    @property
    def num_codes(self) -> int:
        return self.quantizer.num_codes

    @property
    def tokens_per_image(self) -> int:
        return self.grid * self.grid

    def extra_repr(self) -> str:
        return f"side={self.side}, grid={self.grid}"

    def encode_continuous(self, x: torch.Tensor) -> torch.Tensor:
        """``z_e(x)``: ``(batch, side*side)`` → ``(batch, grid, grid, code_dim)``."""
        check_tensor("x", x, ndim=2, last_dim=self.side * self.side, floating=True)
        h = self.encoder(x.reshape(-1, 1, self.side, self.side))
        return h.permute(0, 2, 3, 1)

    def quantize(self, x: torch.Tensor) -> Quantized:
        """Equations (1)-(2) on the encoder's grid; ``indices: (batch, grid, grid)``."""
        return self.quantizer(self.encode_continuous(x))

    def decode_codes(self, z_q: torch.Tensor) -> torch.Tensor:
        """``D(z_q)``: ``(batch, grid, grid, code_dim)`` → ``(batch, side*side)``."""
        check_tensor("z_q", z_q, ndim=4, last_dim=self.quantizer.code_dim, floating=True)
        if z_q.shape[1:3] != (self.grid, self.grid):
            raise ValueError(
                f"z_q must have shape (batch, {self.grid}, {self.grid}, "
                f"{self.quantizer.code_dim}), got {tuple(z_q.shape)}"
            )
        return self.decoder(z_q.permute(0, 3, 1, 2)).reshape(z_q.shape[0], -1)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Code indices in raster order, ``(batch, grid*grid)`` int64: the image's tokens.

        An entry point (not used in training), so it also refuses NaN or infinite pixels,
        whose nearest code would be meaningless."""
        check_finite_tensor("x", check_tensor("x", x, ndim=2, floating=True))
        return self.quantizer.nearest(self.encode_continuous(x)).reshape(x.shape[0], -1)

    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Images from token grids ``(batch, grid*grid)`` int64 → ``(batch, side*side)``."""
        check_index_tensor("indices", indices, self.num_codes, ndim=2)
        if indices.shape[1] != self.tokens_per_image:
            raise ValueError(
                f"indices must have {self.tokens_per_image} columns, got {indices.shape[1]}"
            )
        codes = self.quantizer.lookup(indices).reshape(
            -1, self.grid, self.grid, self.quantizer.code_dim
        )
        return self.decode_codes(codes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``D(z_q(x))``, ``(batch, side*side)``."""
        return self.decode_codes(self.quantize(x).quantized)


def vqvae_loss(model: VQVAE, x: torch.Tensor) -> torch.Tensor:
    """Equation (3) averaged over the batch, usable as the ``loss_fn`` of
    :func:`survey_models.train.fit`: squared reconstruction error summed over pixels, plus
    the codebook term, plus β times the commitment term."""
    if not isinstance(model, VQVAE):
        raise TypeError(f"model must be a VQVAE, got {type(model).__name__}")
    q = model.quantize(x)
    y = model.decode_codes(q.quantized)
    recon = ((y - x) ** 2).sum(1).mean()
    return recon + q.codebook_loss + model.quantizer.beta * q.commitment_loss  # (3)


def prior_sequences(indices: torch.Tensor, num_codes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token training pairs for a prior over code sequences.

    ``indices: (batch, M)`` codes in raster order. The sequence is ``[<bos>, k_1..k_M]``
    with ``<bos>`` = ``num_codes``; inputs are ``[<bos>, k_1..k_{M-1}]`` and targets
    ``[k_1..k_M]``, both ``(batch, M)``; the vocabulary has ``num_codes + 1`` ids.
    """
    num_codes = check_positive_int("num_codes", num_codes)
    check_index_tensor("indices", indices, num_codes, ndim=2)
    bos = torch.full((indices.shape[0], 1), num_codes, dtype=torch.long)
    return torch.cat([bos, indices[:, :-1]], dim=1), indices.clone()


@torch.no_grad()
def sample_prior(
    prior: nn.Module,
    n: int,
    length: int,
    num_codes: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample ``n`` code sequences ``(n, length)`` from a prior trained on
    :func:`prior_sequences`: ``k_i ~ p(k_i | <bos>, k_{<i})``, one position at a time.

    ``prior(idx: (n, t))`` must return logits ``(n, t, ≥ num_codes)``; only the first
    ``num_codes`` logits are used, so ``<bos>`` is never drawn.
    """
    check_module("prior", prior)
    n = check_positive_int("n", n)
    length = check_positive_int("length", length)
    num_codes = check_positive_int("num_codes", num_codes)
    temperature = check_positive_float("temperature", temperature)
    was_training = prior.training
    prior.eval()
    seq = torch.full((n, 1), num_codes, dtype=torch.long)
    for _ in range(length):
        logits = prior(seq)[:, -1, :num_codes]
        probs = torch.softmax(logits / temperature, dim=-1)
        seq = torch.cat([seq, torch.multinomial(probs, 1, generator=generator)], dim=1)
    prior.train(was_training)
    return seq[:, 1:]

"""Masked autoencoder, MAE (He et al. 2022): hide most patches, reconstruct their pixels.

An image ``x`` is cut into ``N`` non-overlapping ``p × p`` patches
(:func:`survey_models.diffusion.dit.patchify`). For every sample a random permutation of
the patches is drawn (the ranks of ``N`` uniform numbers); the first ``K`` of it stay
visible and the other ``N - K`` are masked:

.. math::

    K = \\lfloor (1 - r) N \\rfloor, \\qquad
    \\mathcal{V} = \\{\\pi(1), \\dots, \\pi(K)\\}, \\quad
    \\mathcal{M} = \\{\\pi(K+1), \\dots, \\pi(N)\\} \\qquad (1)

The design is *asymmetric*. The encoder, a ViT, sees the visible patches only (no mask
tokens): each becomes a token ``E x_n + e_n`` (a linear embedding plus the fixed 2-D
sine-cosine position of patch ``n``) and the ``K`` tokens pass through ``L`` Transformer
blocks. A light decoder gets the encoded visible tokens and one shared, learned mask token
``m`` at every masked position, all ``N`` with their positions, and predicts each patch's
pixels:

.. math::

    z = \\operatorname{Enc}\\bigl(\\{E x_n + e_n\\}_{n \\in \\mathcal{V}}\\bigr), \\qquad
    \\hat x = \\operatorname{Dec}\\bigl(\\{W z_n + e'_n\\}_{n \\in \\mathcal{V}}
    \\cup \\{m + e'_n\\}_{n \\in \\mathcal{M}}\\bigr) \\qquad (2)

The loss is the mean squared error on the **masked** patches only:

.. math::

    \\mathcal{L} = \\frac{1}{|\\mathcal{M}|\\, p^2} \\sum_{n \\in \\mathcal{M}}
    \\lVert \\hat x_n - x_n \\rVert^2 \\qquad (3)

(averaged over the batch's masked patches). The paper's ``norm_pix_loss`` (per-patch
normalised targets) is left out: on 8×8 digits many 2×2 patches are constant, and their
normalised target is undefined. For a downstream task the whole image is encoded without
masking and the tokens are averaged, :meth:`MaskedAutoencoder.encode` (a linear probe fits
a linear classifier on these codes; fine-tuning would train the whole encoder).

Attention blocks are :class:`survey_models.transformer.TransformerBlock` (pre-norm, GELU).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from .._checks import check_positive_int, check_probability, check_seed, check_tensor
from ..diffusion.dit import patchify, sincos_position_2d, unpatchify
from ..transformer import TransformerBlock

__all__ = [
    "kept_patches",
    "PatchMask",
    "random_masking",
    "gather_patches",
    "masked_mse",
    "MaskedOutput",
    "MaskedAutoencoder",
    "MAELoss",
]


def kept_patches(n_patches: int, mask_ratio: float) -> int:
    """``K = ⌊(1 - r) N⌋`` of eq. (1): how many patches stay visible.

    A tiny tolerance keeps float rounding from dropping a patch (``(1 - 0.9) · 10`` is
    ``0.9999…`` in binary floating point; the answer is 1). At least one patch must stay
    visible, so the encoder has something to see.
    """
    n = check_positive_int("n_patches", n_patches)
    r = check_probability("mask_ratio", mask_ratio)
    k = math.floor((1.0 - r) * n + 1e-9)  # (1)
    if k < 1:
        raise ValueError(
            f"mask_ratio={mask_ratio} leaves no visible patch out of {n}; use mask_ratio < 1 - 1/{n}"
        )
    return k


class PatchMask(NamedTuple):
    """One random masking, eq. (1), for a batch of ``B`` samples of ``N`` patches.

    ``ids_shuffle (B, N)``: the per-sample permutation ``π``; ``ids_keep (B, K)``: its first
    ``K`` entries, the visible patches; ``ids_restore (B, N)``: the inverse permutation
    (``ids_shuffle[b, ids_restore[b, n]] = n``); ``mask (B, N)``: 1.0 at masked patches,
    0.0 at visible ones, in the original patch order.
    """

    ids_shuffle: torch.Tensor
    ids_keep: torch.Tensor
    ids_restore: torch.Tensor
    mask: torch.Tensor


def random_masking(
    batch: int,
    n_patches: int,
    mask_ratio: float,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> PatchMask:
    """Draw a fresh random masking for each of ``batch`` samples (per-sample shuffle).

    As in the paper's code: ``N`` uniform numbers per sample are sorted, their order is
    the permutation ``π``; the ``K = kept_patches(N, r)`` patches with the smallest numbers
    stay visible. Draws come from ``generator`` (on the CPU), so a seed fixes the masks.
    """
    b = check_positive_int("batch", batch)
    n = check_positive_int("n_patches", n_patches)
    k = kept_patches(n, mask_ratio)
    noise = torch.rand(b, n, generator=generator)
    ids_shuffle = torch.argsort(noise, dim=1)  # π, one per sample
    ids_restore = torch.argsort(ids_shuffle, dim=1)  # π⁻¹
    mask = torch.ones(b, n)
    mask[:, :k] = 0.0  # in shuffled order: the first K are visible
    mask = torch.gather(mask, 1, ids_restore)  # back to the patch order
    return PatchMask(
        ids_shuffle.to(device),
        ids_shuffle[:, :k].to(device),
        ids_restore.to(device),
        mask.to(device),
    )


def gather_patches(tokens: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Pick tokens by index per sample: ``tokens (B, N, D)``, ``ids (B, K)`` → ``(B, K, D)``."""
    check_tensor("tokens", tokens, ndim=3)
    check_tensor("ids", ids, ndim=2)
    if ids.shape[0] != tokens.shape[0]:
        raise ValueError(
            f"ids must have one row per sample ({tokens.shape[0]}), got shape {tuple(ids.shape)}"
        )
    return torch.gather(tokens, 1, ids.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. (3): the mean squared error over the masked patches only.

    ``pred, target: (B, N, D)`` patches, ``mask: (B, N)`` with 1 at masked patches. Visible
    patches are multiplied by 0, so their targets cannot change the loss.
    """
    check_tensor("pred", pred, ndim=3, floating=True)
    check_tensor("target", target, ndim=3, floating=True)
    check_tensor("mask", mask, ndim=2)
    if target.shape != pred.shape:
        raise ValueError(
            f"target must have the shape of pred {tuple(pred.shape)}, got {tuple(target.shape)}"
        )
    if mask.shape != pred.shape[:2]:
        raise ValueError(f"mask must have shape {tuple(pred.shape[:2])}, got {tuple(mask.shape)}")
    per_patch = ((pred - target) ** 2).mean(dim=-1)  # ‖x̂_n − x_n‖² / p²
    mask = mask.to(per_patch.dtype)
    n_masked = mask.sum()
    if n_masked == 0:
        raise ValueError("mask has no masked patch: the loss of eq. (3) is undefined")
    return (per_patch * mask).sum() / n_masked  # (3)


class MaskedOutput(NamedTuple):
    """What :meth:`MaskedAutoencoder.forward` returns.

    ``pred (B, N, p²)``: the decoder's pixels for every patch; ``target (B, N, p²)``: the
    true patches; ``mask (B, N)``: 1 at masked patches; ``latent (B, K, d_model)``: the
    encoder's output for the visible patches.
    """

    pred: torch.Tensor
    target: torch.Tensor
    mask: torch.Tensor
    latent: torch.Tensor


class MaskedAutoencoder(nn.Module):
    """A masked autoencoder for square grey images (e.g. the 8×8 digits), eqs. (1)-(3).

    Args:
        image_size: side of the image; inputs are flat rows of ``image_size²`` pixels.
        patch_size: side ``p`` of a patch (must divide ``image_size``); 2 gives 16 patches
            on the digits, 4 gives 4.
        d_model, depth, n_head: width, number of Transformer blocks and heads of the
            encoder (a small ViT).
        decoder_d_model, decoder_depth, decoder_n_head: the same for the light decoder.
        mask_ratio: share ``r`` of patches masked during training (the paper: 0.75).

    Shapes: ``x: (batch, image_size²)``; :meth:`forward` → :class:`MaskedOutput`;
    :meth:`encode` → ``(batch, d_model)``; :meth:`reconstruct` → ``(batch, image_size²)``.
    """

    def __init__(
        self,
        image_size: int = 8,
        patch_size: int = 2,
        d_model: int = 64,
        depth: int = 2,
        n_head: int = 4,
        decoder_d_model: int = 32,
        decoder_depth: int = 1,
        decoder_n_head: int = 4,
        mask_ratio: float = 0.75,
    ) -> None:
        super().__init__()
        self.image_size = check_positive_int("image_size", image_size)
        self.patch_size = check_positive_int("patch_size", patch_size)
        if image_size % patch_size:
            raise ValueError(f"patch_size ({patch_size}) must divide image_size ({image_size})")
        self.d_model = check_positive_int("d_model", d_model)
        self.depth = check_positive_int("depth", depth)
        self.decoder_d_model = check_positive_int("decoder_d_model", decoder_d_model)
        self.decoder_depth = check_positive_int("decoder_depth", decoder_depth)
        check_positive_int("n_head", n_head)
        check_positive_int("decoder_n_head", decoder_n_head)
        for name, width in (("d_model", d_model), ("decoder_d_model", decoder_d_model)):
            if width % 4:
                raise ValueError(f"{name} must be divisible by 4 for 2-D positions, got {width}")
        self.grid = image_size // patch_size
        self.n_patches = self.grid * self.grid
        self.patch_dim = patch_size * patch_size
        self.mask_ratio = check_probability("mask_ratio", mask_ratio)
        kept_patches(self.n_patches, mask_ratio)  # at least one visible patch

        self.patch_embed = nn.Linear(self.patch_dim, d_model)  # E of eq. (2)
        self.register_buffer(
            "position", sincos_position_2d(self.grid, self.grid, d_model), persistent=False
        )
        self.encoder = nn.ModuleList(TransformerBlock(d_model, n_head) for _ in range(depth))
        self.encoder_norm = nn.LayerNorm(d_model)

        self.decoder_embed = nn.Linear(d_model, decoder_d_model)  # W of eq. (2)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_d_model))  # m of eq. (2)
        nn.init.normal_(self.mask_token, std=0.02)
        self.register_buffer(
            "decoder_position",
            sincos_position_2d(self.grid, self.grid, decoder_d_model),
            persistent=False,
        )
        self.decoder = nn.ModuleList(
            TransformerBlock(decoder_d_model, decoder_n_head) for _ in range(decoder_depth)
        )
        self.decoder_norm = nn.LayerNorm(decoder_d_model)
        self.decoder_pred = nn.Linear(decoder_d_model, self.patch_dim)

    def extra_repr(self) -> str:
        return (
            f"image_size={self.image_size}, patch_size={self.patch_size}, "
            f"n_patches={self.n_patches}, mask_ratio={self.mask_ratio}"
        )

    def _check_x(self, x: object) -> torch.Tensor:
        return check_tensor("x", x, ndim=2, last_dim=self.image_size**2, floating=True)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """Flat images ``x: (B, image_size²)`` → patches ``(B, N, p²)`` in row-major order."""
        x = self._check_x(x)
        s = self.image_size
        return patchify(x.reshape(-1, 1, s, s), self.patch_size)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`patchify`: ``(B, N, p²)`` → flat images ``(B, image_size²)``."""
        s = self.image_size
        return unpatchify(patches, self.patch_size, 1, s, s).reshape(-1, s * s)

    def _encode_tokens(self, patches: torch.Tensor, ids_keep: torch.Tensor | None) -> torch.Tensor:
        position = self.position.expand(patches.shape[0], -1, -1)
        if ids_keep is not None:  # the encoder sees the visible patches only
            patches = gather_patches(patches, ids_keep)
            position = gather_patches(position, ids_keep)
        h = self.patch_embed(patches) + position  # E x_n + e_n, eq. (2)
        for block in self.encoder:
            h = block(h)
        return self.encoder_norm(h)

    def forward(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        mask_ratio: float | None = None,
    ) -> MaskedOutput:
        """Mask (eq. (1)), encode the visible patches and decode all of them (eq. (2)).

        ``mask_ratio`` defaults to the model's; masks are drawn from ``generator``.
        """
        x = self._check_x(x)
        ratio = self.mask_ratio if mask_ratio is None else mask_ratio
        target = self.patchify(x)
        b = target.shape[0]
        masking = random_masking(b, self.n_patches, ratio, generator, device=x.device)  # (1)
        latent = self._encode_tokens(target, masking.ids_keep)  # z of eq. (2)
        # Decoder: visible tokens, then one mask token per masked patch, put back in order.
        h = self.decoder_embed(latent)
        k = h.shape[1]
        h = torch.cat([h, self.mask_token.expand(b, self.n_patches - k, -1)], dim=1)
        h = gather_patches(h, masking.ids_restore) + self.decoder_position  # eq. (2)
        for block in self.decoder:
            h = block(h)
        pred = self.decoder_pred(self.decoder_norm(h))  # x̂, (B, N, p²)
        return MaskedOutput(pred, target, masking.mask, latent)

    def loss(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        mask_ratio: float | None = None,
    ) -> torch.Tensor:
        """Eq. (3) for a fresh masking of ``x: (B, image_size²)``."""
        out = self(x, generator=generator, mask_ratio=mask_ratio)
        return masked_mse(out.pred, out.target, out.mask)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes for a probe: all patches, no masking, mean of the encoder tokens; ``(B, d_model)``."""
        x = self._check_x(x)
        return self._encode_tokens(self.patchify(x), None).mean(dim=1)

    def reconstruct(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat images from one masking: ``(reconstruction, pixel mask)``, both ``(B, image_size²)``.

        The reconstruction keeps the visible patches as they are and fills the masked ones
        with the decoder's prediction (as the paper's figures show); the pixel mask is 1
        where a pixel was masked.
        """
        out = self(x, generator=generator)
        m = out.mask.unsqueeze(-1)
        filled = out.target * (1 - m) + out.pred * m
        return self.unpatchify(filled), self.unpatchify(m.expand_as(out.pred).contiguous())


class MAELoss:
    """Loss function for :func:`survey_models.train.fit`: eq. (3) under a fresh masking per
    mini-batch, drawn from a generator seeded with ``seed`` (so the run is reproducible).

    Args:
        seed: seed of the masking generator.
        mask_ratio: share of masked patches; ``None`` uses the model's ``mask_ratio``.
    """

    def __init__(self, seed: int = 0, mask_ratio: float | None = None) -> None:
        self.seed = check_seed(seed)
        self.mask_ratio = (
            None if mask_ratio is None else check_probability("mask_ratio", mask_ratio)
        )
        self.generator = torch.Generator().manual_seed(self.seed)

    def __call__(self, model: MaskedAutoencoder, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(model, MaskedAutoencoder):
            raise TypeError(f"model must be a MaskedAutoencoder, got {type(model).__name__}")
        return model.loss(x, generator=self.generator, mask_ratio=self.mask_ratio)

    def __repr__(self) -> str:
        return f"MAELoss(seed={self.seed}, mask_ratio={self.mask_ratio})"

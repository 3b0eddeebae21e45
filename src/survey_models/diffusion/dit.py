"""DiT: a Transformer as the denoiser ε_θ (Peebles & Xie 2023; chapter 生成网络（三）, section 4).

The diffusion model is unchanged (:mod:`survey_models.diffusion.ddpm`: the same
:class:`~survey_models.diffusion.ddpm.NoiseSchedule`, loss and samplers); only the network
that predicts the noise is replaced. The (latent) image ``x: (B, C, H, W)`` is cut into
non-overlapping ``p × p`` patches, each patch becomes one token (a linear map of its
``C p²`` values plus a fixed 2-D sine-cosine position), and the ``N = HW / p²`` tokens pass
through ``L`` Transformer blocks. The step ``t`` (and the class ``y``) enter every block
through *adaptive layer norm*: a small network regresses, from the conditioning vector
``c = MLP(emb(t)) + E[y]``, a shift ``β``, a scale ``γ`` and a residual gate ``α`` for each
of the two branches of the block:

.. math::

    \\operatorname{patchify}(x)_{n} = \\operatorname{vec}\\bigl(
        x[:, \\, p i : p i + p, \\, p j : p j + p]\\bigr),\\quad n = i\\,W/p + j  \\qquad (1)

    \\operatorname{adaLN}(h; \\beta, \\gamma) = \\operatorname{LN}(h) \\odot (1 + \\gamma) + \\beta,
    \\quad (\\beta_k, \\gamma_k, \\alpha_k)_{k=1,2} = W_\\text{ada}\\,\\operatorname{SiLU}(c)
    + b_\\text{ada}  \\qquad (2)

    h \\leftarrow h + \\alpha_1 \\odot \\operatorname{MultiHead}\\bigl(
        \\operatorname{adaLN}(h; \\beta_1, \\gamma_1)\\bigr)  \\qquad (3)

    h \\leftarrow h + \\alpha_2 \\odot \\operatorname{MLP}\\bigl(
        \\operatorname{adaLN}(h; \\beta_2, \\gamma_2)\\bigr)  \\qquad (4)

    \\hat\\epsilon = \\operatorname{unpatchify}\\bigl(W_\\text{out}\\,
        \\operatorname{adaLN}(h; \\beta_\\text{out}, \\gamma_\\text{out}) + b_\\text{out}\\bigr)
    \\qquad (5)

**adaLN-Zero**: ``W_ada, b_ada`` of every block and ``W_out, b_out`` of the final layer
start at zero. Then ``α_1 = α_2 = 0``, so each block of eqs. (3)-(4) is exactly the
identity at initialisation, and the whole network outputs exactly ``ε̂ = 0``. Of the
conditioning designs the paper compares (in-context tokens, cross-attention, adaLN,
adaLN-Zero), adaLN-Zero gave the lowest FID; ``zero_init=False`` keeps the same
architecture (gates included) with PyTorch's default random initialisation instead.

:class:`DiT` has the forward signature of :class:`~survey_models.diffusion.ddpm.Denoiser`
(``model(x, t, y=None)`` with ``x: (batch, C·H·W)``) and its ``num_classes`` convention
(label ``num_classes`` is the "no label" token ∅), so
:func:`~survey_models.diffusion.ddpm.diffusion_loss`,
:func:`~survey_models.diffusion.ddpm.model_eps` and the samplers use it unchanged.
Attention is the package's :class:`~survey_models.attention.MultiHeadAttention` (fused
:func:`torch.nn.functional.scaled_dot_product_attention` by default).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_index_tensor, check_positive_int, check_tensor
from ..attention import MultiHeadAttention
from ..transformer import sinusoidal_positional_encoding
from .ddpm import timestep_embedding

__all__ = [
    "patchify",
    "unpatchify",
    "sincos_position_2d",
    "AdaLNZeroBlock",
    "DiT",
]


def _check_images(name: str, x: object, patch_size: int) -> torch.Tensor:
    check_tensor(name, x, ndim=4, floating=True)
    assert isinstance(x, torch.Tensor)
    _, _, h, w = x.shape
    if h % patch_size or w % patch_size:
        raise ValueError(
            f"{name} height and width must be divisible by patch_size={patch_size}, "
            f"got shape {tuple(x.shape)}"
        )
    return x


def patchify(x: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut images into non-overlapping patches, eq. (1).

    ``x: (B, C, H, W)`` → tokens ``(B, N, C·p·p)`` with ``N = (H/p)(W/p)`` in row-major
    order of the patch grid; a token lists its patch channel by channel, each channel
    row by row.
    """
    p = check_positive_int("patch_size", patch_size)
    x = _check_images("x", x, p)
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // p, p, w // p, p)  # (B, C, i, u, j, v): pixel (p i + u, p j + v)
    x = x.permute(0, 2, 4, 1, 3, 5)  # (B, i, j, C, u, v)
    return x.reshape(b, (h // p) * (w // p), c * p * p)


def unpatchify(
    tokens: torch.Tensor, patch_size: int, channels: int, height: int, width: int
) -> torch.Tensor:
    """The inverse of :func:`patchify`: tokens ``(B, N, C·p·p)`` → images ``(B, C, H, W)``."""
    p = check_positive_int("patch_size", patch_size)
    c = check_positive_int("channels", channels)
    h = check_positive_int("height", height)
    w = check_positive_int("width", width)
    if h % p or w % p:
        raise ValueError(
            f"height and width must be divisible by patch_size={p}, got height={h}, width={w}"
        )
    check_tensor("tokens", tokens, ndim=3, last_dim=c * p * p, floating=True)
    if tokens.shape[1] != (h // p) * (w // p):
        raise ValueError(
            f"tokens must have {(h // p) * (w // p)} tokens (dim 1) for a {h}×{w} image "
            f"with patch_size={p}, got shape {tuple(tokens.shape)}"
        )
    b = tokens.shape[0]
    x = tokens.reshape(b, h // p, w // p, c, p, p).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, c, h, w)


def sincos_position_2d(grid_h: int, grid_w: int, d_model: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine positions ``(grid_h · grid_w, d_model)``, as in DiT (and MAE).

    The first half of the width encodes the patch row, the second half the patch column,
    each with :func:`survey_models.transformer.sinusoidal_positional_encoding`.
    """
    grid_h = check_positive_int("grid_h", grid_h)
    grid_w = check_positive_int("grid_w", grid_w)
    d_model = check_positive_int("d_model", d_model)
    if d_model % 4:
        raise ValueError(f"d_model must be divisible by 4 for 2-D positions, got {d_model}")
    half = d_model // 2
    rows = sinusoidal_positional_encoding(grid_h, half)  # (grid_h, d/2)
    cols = sinusoidal_positional_encoding(grid_w, half)  # (grid_w, d/2)
    rows = rows[:, None, :].expand(grid_h, grid_w, half)
    cols = cols[None, :, :].expand(grid_h, grid_w, half)
    return torch.cat([rows, cols], dim=-1).reshape(grid_h * grid_w, d_model)


def _modulate(h: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Eq. (2): ``LN(h) ⊙ (1 + γ) + β``; ``h`` is already normalised, (B, N, d); γ, β (B, d)."""
    return h * (1 + scale[:, None, :]) + shift[:, None, :]


class AdaLNZeroBlock(nn.Module):
    """One DiT block: self-attention and an MLP, both modulated and gated by ``c``, eqs. (2)-(4).

    Args:
        d_model: width of the tokens and of the conditioning vector.
        n_head: attention heads (``d_model`` must be divisible by it).
        mlp_ratio: hidden width of the MLP is ``mlp_ratio * d_model``.
        zero_init: start the regression of ``(β, γ, α)`` at zero (adaLN-Zero: the block is
            then exactly the identity); ``False`` keeps PyTorch's random initialisation.
        fast: use the fused attention kernel.

    Shapes: ``x (B, N, d_model)``, ``c (B, d_model)`` → ``(B, N, d_model)``.
    """

    def __init__(
        self,
        d_model: int,
        n_head: int,
        mlp_ratio: int = 4,
        zero_init: bool = True,
        fast: bool = True,
    ) -> None:
        super().__init__()
        self.d_model = check_positive_int("d_model", d_model)
        self.mlp_ratio = check_positive_int("mlp_ratio", mlp_ratio)
        self.zero_init = bool(zero_init)
        self.attn = MultiHeadAttention(d_model, n_head, fast=fast)
        # LayerNorm without its own γ, β: the conditioning supplies them, eq. (2)
        self.norm1 = nn.LayerNorm(d_model, elementwise_affine=False, eps=1e-6)
        self.norm2 = nn.LayerNorm(d_model, elementwise_affine=False, eps=1e-6)
        self.linear1 = nn.Linear(d_model, mlp_ratio * d_model)
        self.linear2 = nn.Linear(mlp_ratio * d_model, d_model)
        self.ada = nn.Linear(d_model, 6 * d_model)  # W_ada, b_ada of eq. (2)
        if self.zero_init:
            nn.init.zeros_(self.ada.weight)
            nn.init.zeros_(self.ada.bias)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, mlp_ratio={self.mlp_ratio}, zero_init={self.zero_init}"

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=3, last_dim=self.d_model, floating=True)
        check_tensor("c", c, ndim=2, last_dim=self.d_model, floating=True)
        if c.shape[0] != x.shape[0]:
            raise ValueError(
                f"c must have one row per batch element ({x.shape[0]}), got shape {tuple(c.shape)}"
            )
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(F.silu(c)).chunk(6, dim=1)  # (2)
        a, _ = self.attn(_modulate(self.norm1(x), shift1, scale1))
        x = x + gate1[:, None, :] * a  # (3)
        m = self.linear2(F.gelu(self.linear1(_modulate(self.norm2(x), shift2, scale2))))
        return x + gate2[:, None, :] * m  # (4)


class DiT(nn.Module):
    """A diffusion Transformer ``ε_θ(x_t, t, y)``: a drop-in for :class:`~.ddpm.Denoiser`.

    Args:
        image_size: side ``H = W`` of the (square) image, e.g. 8 for the digits.
        channels: ``C``; the data dimension is ``dim = C · H · W``.
        patch_size: side ``p`` of a patch; ``image_size`` must be divisible by it.
        d_model: token width (divisible by ``n_head`` and by 4 for the 2-D positions).
        n_layer: number of :class:`AdaLNZeroBlock` s.
        n_head: attention heads.
        mlp_ratio: MLP width in units of ``d_model``.
        num_classes: if given, the model is class-conditional; label ``num_classes`` is ∅
            (as in :class:`~.ddpm.Denoiser`, for classifier-free guidance).
        time_dim: width of the sinusoidal step embedding.
        zero_init: adaLN-Zero (zero-initialised modulation and final layer).
        fast: fused attention.

    Shapes: ``x: (batch, C·H·W)`` (flattened images, as the samplers pass them),
    ``t: (batch,)`` long, ``y: (batch,)`` long or ``None`` → ``ε̂: (batch, C·H·W)``.
    """

    def __init__(
        self,
        image_size: int = 8,
        channels: int = 1,
        patch_size: int = 2,
        d_model: int = 64,
        n_layer: int = 4,
        n_head: int = 4,
        mlp_ratio: int = 4,
        num_classes: int | None = None,
        time_dim: int = 32,
        zero_init: bool = True,
        fast: bool = True,
    ) -> None:
        super().__init__()
        self.image_size = check_positive_int("image_size", image_size)
        self.channels = check_positive_int("channels", channels)
        self.patch_size = check_positive_int("patch_size", patch_size)
        if image_size % patch_size:
            raise ValueError(
                f"image_size={image_size} must be divisible by patch_size={patch_size}"
            )
        self.d_model = check_positive_int("d_model", d_model)
        self.n_layer = check_positive_int("n_layer", n_layer)
        check_positive_int("n_head", n_head)
        if d_model % n_head:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_head ({n_head})")
        if d_model % 4:
            raise ValueError(f"d_model must be divisible by 4 (2-D positions), got {d_model}")
        self.time_dim = check_positive_int("time_dim", time_dim)
        if time_dim % 2:
            raise ValueError(f"time_dim must be even, got {time_dim}")
        self.num_classes = (
            None if num_classes is None else check_positive_int("num_classes", num_classes)
        )
        self.zero_init = bool(zero_init)
        self.dim = channels * image_size * image_size
        grid = image_size // patch_size
        self.num_tokens = grid * grid
        patch_dim = channels * patch_size * patch_size
        self.embed = nn.Linear(patch_dim, d_model)  # a patch → a token
        self.register_buffer("position", sincos_position_2d(grid, grid, d_model), persistent=False)
        self.time_mlp = nn.Sequential(
            nn.Linear(time_dim, d_model), nn.SiLU(), nn.Linear(d_model, d_model)
        )
        self.label_embedding = (
            None if num_classes is None else nn.Embedding(num_classes + 1, d_model)
        )
        self.blocks = nn.ModuleList(
            AdaLNZeroBlock(d_model, n_head, mlp_ratio, zero_init=zero_init, fast=fast)
            for _ in range(n_layer)
        )
        self.norm_out = nn.LayerNorm(d_model, elementwise_affine=False, eps=1e-6)
        self.ada_out = nn.Linear(d_model, 2 * d_model)  # β_out, γ_out of eq. (5)
        self.output = nn.Linear(d_model, patch_dim)  # W_out, b_out of eq. (5)
        if self.zero_init:
            for lin in (self.ada_out, self.output):
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)

    def extra_repr(self) -> str:
        return (
            f"image_size={self.image_size}, channels={self.channels}, "
            f"patch_size={self.patch_size}, num_tokens={self.num_tokens}, "
            f"num_classes={self.num_classes}, zero_init={self.zero_init}"
        )

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def condition(self, t: torch.Tensor, y: torch.Tensor | None, batch: int) -> torch.Tensor:
        """The conditioning vector ``c = MLP(emb(t)) + E[y]``: ``(batch, d_model)``."""
        if not isinstance(t, torch.Tensor) or t.shape != (batch,):
            raise ValueError(f"t must be a tensor of shape ({batch},)")
        emb = timestep_embedding(t, self.time_dim).to(self.embed.weight.dtype)
        c = self.time_mlp(emb)
        if self.label_embedding is None:
            if y is not None:
                raise ValueError("y was given but the model is unconditional (num_classes=None)")
            return c
        assert self.num_classes is not None
        if y is None:  # ∅, the "no label" token
            y = torch.full((batch,), self.num_classes, dtype=torch.long, device=t.device)
        check_index_tensor("y", y, self.num_classes + 1, ndim=1)  # label num_classes is ∅
        if y.shape[0] != batch:
            raise ValueError(f"y must have shape ({batch},), got {tuple(y.shape)}")
        return c + self.label_embedding(y)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None
    ) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.dim, floating=True)
        b = x.shape[0]
        c = self.condition(t, y, b)
        s = self.image_size
        images = x.reshape(b, self.channels, s, s)
        h = self.embed(patchify(images, self.patch_size)) + self.position  # tokens, eq. (1)
        for block in self.blocks:
            h = block(h, c)  # eqs. (2)-(4)
        shift, scale = self.ada_out(F.silu(c)).chunk(2, dim=1)
        out = self.output(_modulate(self.norm_out(h), shift, scale))  # eq. (5)
        return unpatchify(out, self.patch_size, self.channels, s, s).reshape(b, self.dim)

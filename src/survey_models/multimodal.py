"""Multimodal models (survey chapter 3, part 2): CLIP-style alignment and DALL·E-style
text-to-image generation, at the scale of 8×8 digits and short Chinese/English captions.

* Captions: :func:`digit_caption` writes a digit's label with a template
  (``"数字{zh}"`` → ``"数字七"``, ``"一个手写的 {d}"`` → ``"一个手写的 7"``);
  :class:`survey_models.text.CharTokenizer` with ``specials=True`` turns captions into
  character ids (0 pads, 1 stands for a character never seen).
* :class:`CLIP` — an image encoder and a character-level text encoder mapped into one
  unit sphere, trained with the symmetric InfoNCE loss (Radford et al. 2021),

  .. math::

      L = \\tfrac12\\Bigl[-\\tfrac1N\\sum_i \\log \\frac{e^{s_{ii}/\\tau}}{\\sum_j e^{s_{ij}/\\tau}}
      -\\tfrac1N\\sum_j \\log \\frac{e^{s_{jj}/\\tau}}{\\sum_i e^{s_{ij}/\\tau}}\\Bigr],
      \\quad s_{ij} = \\langle u_i, v_j\\rangle  \\qquad (1)

  With only ten classes a batch holds many images of the same digit; :func:`info_nce_loss`
  can take the labels and spread each row's target over *all* captions of the same class
  (a multi-positive target), instead of calling a correct caption a negative.
* :class:`PatchVQ` — a small vector-quantisation codebook over image patches (k-means),
  the discrete image tokens of a DALL·E-style model (Ramesh et al. 2021 use a discrete
  VAE with 8,192 codes over 32×32 tokens; here 16 tokens from 2×2 patches).
* :func:`text_image_sequences` — ``[caption chars, <sep>, image tokens]`` sequences for a
  decoder-only transformer (:class:`survey_models.transformer.GPT`) trained on the image
  tokens only, and :func:`generate_images` to sample images for captions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    check_index_tensor,
    check_positive_float,
    check_positive_int,
    check_seed,
    check_tensor,
)
from .text import CharTokenizer

ZH_DIGITS = "零一二三四五六七八九"
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

#: Caption templates used for training; ``{d}`` is the Arabic numeral, ``{zh}`` the Chinese
#: numeral and ``{en}`` the English word.
TRAIN_TEMPLATES = (
    "数字{zh}",
    "一个手写的 {d}",
    "手写数字{zh}",
    "这是{zh}",
    "{d}",
    "a handwritten {d}",
    "the digit {en}",
    "{en}",
    "number {d}",
    "写的是{zh}",
)

#: Templates held out from training, for zero-shot evaluation.
HELDOUT_TEMPLATES = ("一张写着{zh}的图片", "a photo of the number {en}", "图中是 {d}")


def digit_caption(label: int, template: str) -> str:
    """Caption for digit ``label`` (0..9) with a template using ``{d}``, ``{zh}``, ``{en}``."""
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise ValueError(f"label must be an int in 0..9, got {label!r}")
    if not isinstance(template, str):
        raise TypeError(f"template must be a str, got {type(template).__name__}")
    if not any(k in template for k in ("{d}", "{zh}", "{en}")):
        raise ValueError(f"template must contain {{d}}, {{zh}} or {{en}}, got {template!r}")
    return template.format(d=label, zh=ZH_DIGITS[label], en=EN_DIGITS[label])


def caption_pairs(
    images: torch.Tensor,
    labels: torch.Tensor,
    tokenizer: CharTokenizer,
    templates: Sequence[str],
    repeats: int = 1,
    length: int = 24,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pair every image with ``repeats`` captions, each from a template drawn at random.

    Returns ``(images, tokens, labels)`` with ``repeats * len(images)`` rows; ``tokens`` is
    ``(rows, length)``. The draw uses its own generator seeded with ``seed``.
    """
    check_tensor("images", images, ndim=2, floating=True)
    if not isinstance(labels, torch.Tensor) or labels.shape != (images.shape[0],):
        raise ValueError(f"labels must be a tensor of shape ({images.shape[0]},)")
    repeats = check_positive_int("repeats", repeats)
    if isinstance(templates, str) or len(templates) == 0:
        raise ValueError("templates must be a non-empty sequence of template strings")
    if not isinstance(tokenizer, CharTokenizer):
        raise TypeError(f"tokenizer must be a CharTokenizer, got {type(tokenizer).__name__}")
    if not tokenizer.specials:
        raise ValueError("tokenizer must be built with specials=True: captions are padded")
    g = torch.Generator().manual_seed(check_seed(seed))
    xs, ts, ys = [], [], []
    for _ in range(repeats):
        which = torch.randint(len(templates), (len(labels),), generator=g)
        captions = [digit_caption(int(lab), templates[int(k)]) for lab, k in zip(labels, which)]
        xs.append(images)
        ts.append(tokenizer.encode(captions, length))
        ys.append(labels)
    return torch.cat(xs), torch.cat(ts), torch.cat(ys)


# ---------------------------------------------------------------------------------------
# CLIP-style contrastive alignment
# ---------------------------------------------------------------------------------------
class ImageEncoder(nn.Module):
    """MLP image encoder: ``x: (batch, n_pixels)`` → ``(batch, embed_dim)`` (not normalised)."""

    def __init__(self, n_pixels: int = 64, hidden: int = 256, embed_dim: int = 64) -> None:
        super().__init__()
        self.n_pixels = check_positive_int("n_pixels", n_pixels)
        check_positive_int("hidden", hidden)
        check_positive_int("embed_dim", embed_dim)
        self.net = nn.Sequential(
            nn.Linear(n_pixels, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, embed_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("images", x, ndim=2, last_dim=self.n_pixels, floating=True)
        return self.net(x)


class TextEncoder(nn.Module):
    """Character-level text encoder: embeddings → two 1-D convolutions (width 3) → max
    pooling over the non-padding positions → linear projection.

    ``tokens: (batch, length)`` int64 with 0 = padding → ``(batch, embed_dim)``.
    """

    def __init__(self, vocab_size: int, hidden: int = 128, embed_dim: int = 64) -> None:
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        check_positive_int("hidden", hidden)
        check_positive_int("embed_dim", embed_dim)
        self.embedding = nn.Embedding(vocab_size, hidden, padding_idx=0)
        self.conv1 = nn.Conv1d(hidden, hidden, 3, padding=1)
        self.conv2 = nn.Conv1d(hidden, hidden, 3, padding=1)
        self.proj = nn.Linear(hidden, embed_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if not isinstance(tokens, torch.Tensor) or tokens.dtype != torch.long or tokens.dim() != 2:
            raise ValueError("tokens must be an int64 tensor of shape (batch, length)")
        if int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size:
            raise ValueError(
                f"tokens must lie in [0, {self.vocab_size}), got values in "
                f"[{int(tokens.min())}, {int(tokens.max())}]"
            )
        mask = (tokens != 0).unsqueeze(-1)  # (B, L, 1)
        h = self.embedding(tokens).transpose(1, 2)  # (B, H, L)
        h = F.relu(self.conv1(h))
        h = F.relu(self.conv2(h)) + h
        h = h.transpose(1, 2).masked_fill(~mask, float("-inf")).amax(dim=1)
        h = torch.where(torch.isfinite(h), h, torch.zeros_like(h))  # empty caption → 0
        return self.proj(h)


def info_nce_loss(
    image_emb: torch.Tensor,
    text_emb: torch.Tensor,
    temperature: float | torch.Tensor,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric InfoNCE loss of eq. (1) on L2-normalised embeddings.

    ``image_emb, text_emb: (N, d)`` where row ``i`` of each is a matching pair. Without
    ``labels`` the target of row ``i`` is column ``i`` only (the CLIP loss). With
    ``labels: (N,)`` the target of row ``i`` is uniform over every column ``j`` with
    ``labels[j] == labels[i]`` — pairs of the same class are positives, not negatives.
    """
    check_tensor("image_emb", image_emb, ndim=2, floating=True)
    check_tensor("text_emb", text_emb, ndim=2, floating=True)
    if image_emb.shape != text_emb.shape:
        raise ValueError(
            f"image_emb and text_emb must have the same shape, got "
            f"{tuple(image_emb.shape)} and {tuple(text_emb.shape)}"
        )
    if isinstance(temperature, torch.Tensor):
        if not bool(temperature > 0):
            raise ValueError(f"temperature must be > 0, got {float(temperature)}")
    else:
        temperature = check_positive_float("temperature", temperature)
    u = F.normalize(image_emb, dim=1)
    v = F.normalize(text_emb, dim=1)
    logits = u @ v.T / temperature  # s_ij / τ
    n = logits.shape[0]
    if labels is None:
        target = torch.eye(n, dtype=logits.dtype, device=logits.device)
    else:
        if not isinstance(labels, torch.Tensor) or labels.shape != (n,):
            raise ValueError(f"labels must be a tensor of shape ({n},)")
        same = (labels[:, None] == labels[None, :]).to(logits.dtype)
        target = same / same.sum(dim=1, keepdim=True)  # symmetric: rows = columns
    loss_i2t = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    loss_t2i = -(target.T * F.log_softmax(logits.T, dim=1)).sum(1).mean()
    return (loss_i2t + loss_t2i) / 2


class CLIP(nn.Module):
    """Contrastive language-image pre-training (Radford et al. 2021), tiny.

    ``encode_image(x: (B, 64))`` and ``encode_text(tokens: (B, L))`` return unit vectors
    ``(B, embed_dim)``; ``forward(x, tokens)`` returns the similarity logits ``(B, B)``
    scaled by the learned inverse temperature (initialised to 1/0.07 as in the paper and
    clamped at 100).
    """

    def __init__(
        self, vocab_size: int, n_pixels: int = 64, embed_dim: int = 64, hidden: int = 256
    ) -> None:
        super().__init__()
        if check_positive_int("hidden", hidden) < 2:
            raise ValueError(
                f"hidden must be at least 2 (the text encoder is hidden // 2 wide), got {hidden}"
            )
        self.image_encoder = ImageEncoder(n_pixels, hidden, embed_dim)
        self.text_encoder = TextEncoder(vocab_size, hidden // 2, embed_dim)
        self.log_inv_temperature = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    @property
    def temperature(self) -> torch.Tensor:
        return 1 / self.log_inv_temperature.clamp(max=math.log(100)).exp()

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.image_encoder(x), dim=1)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_encoder(tokens), dim=1)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.encode_image(x) @ self.encode_text(tokens).T / self.temperature


def clip_loss(
    model: CLIP, images: torch.Tensor, tokens: torch.Tensor, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """``loss_fn(model, images, tokens[, labels])`` for :func:`survey_models.train.fit`."""
    return info_nce_loss(
        model.image_encoder(images), model.text_encoder(tokens), model.temperature, labels
    )


@torch.no_grad()
def zero_shot_predict(
    model: CLIP, images: torch.Tensor, class_tokens: torch.Tensor
) -> torch.Tensor:
    """Class of each image = the caption (one per class, ``class_tokens: (C, L)``) with the
    highest cosine similarity. Returns ``(B,)`` int64."""
    model.eval()
    return (model.encode_image(images) @ model.encode_text(class_tokens).T).argmax(1)


@torch.no_grad()
def clip_scores(model: CLIP, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of image ``i`` with caption ``i``: ``(B,)``, for re-ranking."""
    model.eval()
    return (model.encode_image(images) * model.encode_text(tokens)).sum(1)


# ---------------------------------------------------------------------------------------
# Discrete image tokens: a k-means codebook over patches
# ---------------------------------------------------------------------------------------
class PatchVQ:
    """Vector quantisation of ``patch × patch`` image patches with a k-means codebook.

    ``fit(x)`` runs Lloyd's algorithm (k-means++ initialisation, seeded); ``encode`` maps
    images ``(B, side*side)`` to token ids ``(B, (side/patch)²)`` in raster order;
    ``decode`` replaces each id by its codebook patch.
    """

    def __init__(self, codebook_size: int = 64, patch: int = 2, side: int = 8) -> None:
        self.codebook_size = check_positive_int("codebook_size", codebook_size)
        self.patch = check_positive_int("patch", patch)
        self.side = check_positive_int("side", side)
        if side % patch:
            raise ValueError(f"patch ({patch}) must divide side ({side})")
        self.codebook: torch.Tensor | None = None

    @property
    def tokens_per_image(self) -> int:
        return (self.side // self.patch) ** 2

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, side*side)`` → ``(B, tokens_per_image, patch*patch)``."""
        check_tensor("x", x, ndim=2, last_dim=self.side * self.side, floating=True)
        b, p, g = x.shape[0], self.patch, self.side // self.patch
        return x.reshape(b, g, p, g, p).permute(0, 1, 3, 2, 4).reshape(b, g * g, p * p)

    def unpatch(self, patches: torch.Tensor) -> torch.Tensor:
        """``(B, tokens_per_image, patch*patch)`` → ``(B, side*side)``."""
        check_tensor("patches", patches, ndim=3)
        if patches.shape[1:] != (self.tokens_per_image, self.patch**2):
            raise ValueError(
                f"patches must have shape (batch, {self.tokens_per_image}, "
                f"{self.patch**2}), got {tuple(patches.shape)}"
            )
        b, p, g = patches.shape[0], self.patch, self.side // self.patch
        return patches.reshape(b, g, g, p, p).permute(0, 1, 3, 2, 4).reshape(b, -1)

    def fit(self, x: torch.Tensor, iters: int = 30, seed: int = 0) -> PatchVQ:
        check_positive_int("iters", iters)
        seed = check_seed(seed)
        data = self.patches(x).reshape(-1, self.patch**2).double()
        if data.shape[0] < self.codebook_size:
            raise ValueError(
                f"need at least codebook_size={self.codebook_size} patches, got {data.shape[0]}"
            )
        g = torch.Generator().manual_seed(seed)
        # k-means++ initialisation
        centres = [data[torch.randint(data.shape[0], (1,), generator=g)].squeeze(0)]
        d2 = ((data - centres[0]) ** 2).sum(1)
        for _ in range(1, self.codebook_size):
            probs = d2 / d2.sum() if d2.sum() > 0 else torch.full_like(d2, 1 / len(d2))
            idx = torch.multinomial(probs, 1, generator=g)
            centres.append(data[idx].squeeze(0))
            d2 = torch.minimum(d2, ((data - centres[-1]) ** 2).sum(1))
        c = torch.stack(centres)
        for _ in range(iters):
            assign = torch.cdist(data, c).argmin(1)
            for k in range(self.codebook_size):
                members = data[assign == k]
                if len(members):
                    c[k] = members.mean(0)
        self.codebook = c.float()
        return self

    def _need_fit(self) -> torch.Tensor:
        if self.codebook is None:
            raise RuntimeError("PatchVQ must be fitted first: call fit(x)")
        return self.codebook

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        codebook = self._need_fit()
        p = self.patches(x)
        d = torch.cdist(p.reshape(-1, p.shape[-1]), codebook)
        return d.argmin(1).reshape(x.shape[0], -1)

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        codebook = self._need_fit()
        if not isinstance(tokens, torch.Tensor) or tokens.dtype != torch.long or tokens.dim() != 2:
            raise ValueError("tokens must be an int64 tensor of shape (batch, tokens_per_image)")
        if tokens.shape[1] != self.tokens_per_image:
            raise ValueError(
                f"tokens must have {self.tokens_per_image} columns, got {tokens.shape[1]}"
            )
        if int(tokens.min()) < 0 or int(tokens.max()) >= self.codebook_size:
            raise ValueError(f"tokens must lie in [0, {self.codebook_size})")
        return self.unpatch(codebook[tokens])


# ---------------------------------------------------------------------------------------
# DALL·E-style text-to-image: one stream [caption, <sep>, image tokens]
# ---------------------------------------------------------------------------------------
def text_image_sequences(
    caption_tokens: torch.Tensor, image_tokens: torch.Tensor, text_vocab: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets for next-token training over ``[caption, <sep>, image]``.

    Vocabulary layout: ``0..text_vocab-1`` caption characters (0 = padding),
    ``text_vocab`` = ``<sep>``, ``text_vocab+1+k`` = image code ``k``. The full sequence is
    ``s = [c_1..c_L, <sep>, i_1..i_M]``; the inputs are ``s[:-1]`` and the targets
    ``s[1:]``, with every target that is not an image token set to -100 so the loss is
    the likelihood of the image given the caption (Ramesh et al. 2021 also train on the
    text tokens, with a small weight; here only the image matters).
    Returns ``(x, y)`` of shape ``(B, L + M)``.
    """
    text_vocab = check_positive_int("text_vocab", text_vocab)
    check_index_tensor("caption_tokens", caption_tokens, text_vocab, ndim=2)
    check_index_tensor("image_tokens", image_tokens, ndim=2)
    if caption_tokens.shape[0] != image_tokens.shape[0]:
        raise ValueError(
            "caption_tokens and image_tokens must have the same batch size, got "
            f"{tuple(caption_tokens.shape)} and {tuple(image_tokens.shape)}"
        )
    b, length = caption_tokens.shape
    sep = torch.full((b, 1), text_vocab, dtype=torch.long)
    seq = torch.cat([caption_tokens, sep, image_tokens + text_vocab + 1], dim=1)
    x, y = seq[:, :-1], seq[:, 1:].clone()
    y[:, :length] = -100  # targets c_2..c_L and <sep> are not scored
    return x, y


@torch.no_grad()
def generate_images(
    model: nn.Module,
    caption_tokens: torch.Tensor,
    vq: PatchVQ,
    text_vocab: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample image tokens after ``[caption, <sep>]`` and decode them with ``vq``.

    Only image codes are allowed at each step (the other logits are masked), so every
    sample decodes. Returns ``(images (B, side*side), tokens (B, M))``.
    """
    temperature = check_positive_float("temperature", temperature)
    if not isinstance(vq, PatchVQ):
        raise TypeError(f"vq must be a PatchVQ, got {type(vq).__name__}")
    text_vocab = check_positive_int("text_vocab", text_vocab)
    check_index_tensor("caption_tokens", caption_tokens, text_vocab, ndim=2)
    model.eval()
    b = caption_tokens.shape[0]
    seq = torch.cat([caption_tokens, torch.full((b, 1), text_vocab, dtype=torch.long)], 1)
    offset = text_vocab + 1
    for _ in range(vq.tokens_per_image):
        logits = model(seq)[:, -1, offset : offset + vq.codebook_size]
        probs = torch.softmax(logits / temperature, dim=-1)
        nxt = torch.multinomial(probs, 1, generator=generator)
        seq = torch.cat([seq, nxt + offset], dim=1)
    tokens = seq[:, -vq.tokens_per_image :] - offset
    return vq.decode(tokens), tokens


__all__ = [
    "ZH_DIGITS",
    "EN_DIGITS",
    "TRAIN_TEMPLATES",
    "HELDOUT_TEMPLATES",
    "digit_caption",
    "caption_pairs",
    "ImageEncoder",
    "TextEncoder",
    "info_nce_loss",
    "CLIP",
    "clip_loss",
    "zero_shot_predict",
    "clip_scores",
    "PatchVQ",
    "text_image_sequences",
    "generate_images",
]

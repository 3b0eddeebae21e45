"""Autoencoders (survey chapter 2): one family built from shared encoder/decoder blocks.

* :class:`Autoencoder` — the traditional fully connected autoencoder of equations (1)-(2);
  its hidden width alone decides whether it is a compressed (压缩结构), sparse/over-complete
  (稀疏结构) or equal-dimension (等维结构) autoencoder.
* The regularised variants are the *same* :class:`Autoencoder` trained with a different
  loss function for :func:`survey_models.train.fit`:
  :class:`~survey_models.autoencoders.sparse.SparseLoss` (KL sparsity),
  :class:`~survey_models.autoencoders.sparse.L1ActivityLoss` (L1 activity),
  :class:`~survey_models.autoencoders.sparse.KSparseLoss` (k largest units kept),
  :class:`~survey_models.autoencoders.denoising.DenoisingLoss` (corrupted input) and
  :class:`~survey_models.autoencoders.contractive.ContractiveLoss` (Jacobian penalty).
* :class:`~survey_models.autoencoders.tied.TiedAutoencoder` ties the decoder weight to the
  encoder's, ``W2 = W1ᵀ``; :func:`reconstruction_loss` takes ``error="cross_entropy"`` for
  inputs in [0, 1].
* :mod:`~survey_models.autoencoders.linear` compares a linear autoencoder with PCA;
  :mod:`~survey_models.autoencoders.stacked` does greedy layer-wise pre-training;
  :mod:`~survey_models.autoencoders.convolutional` shares filters across the image;
  :mod:`~survey_models.autoencoders.variational` is the generative VAE;
  :mod:`~survey_models.autoencoders.conditional` is the conditional VAE (generation of a
  requested class);
  :mod:`~survey_models.autoencoders.disentangled` is the β-VAE and the MIG score;
  :mod:`~survey_models.autoencoders.adversarial` is the adversarial autoencoder (a code
  discriminator matches the codes to a chosen prior);
  :mod:`~survey_models.autoencoders.collapse` shows posterior collapse under an autoregressive
  decoder and its fixes (KL annealing, free bits);
  :mod:`~survey_models.autoencoders.anomaly` scores anomalies by reconstruction error;
  :mod:`~survey_models.autoencoders.applications` restores images (inpainting,
  super-resolution, PSNR) and clusters codes (k-means, adjusted Rand index);
  :mod:`~survey_models.autoencoders.vector_quantized` is the VQ-VAE (a learned discrete code)
  with a prior over its codes;
  :mod:`~survey_models.autoencoders.masked` is the masked autoencoder (MAE): a ViT encoder
  that sees a random quarter of the patches, a light decoder that fills in the rest.

Every name is importable from this package; the pages below document each submodule.
"""

from .adversarial import (
    AdversarialAutoencoder,
    GaussianMixturePrior,
    aae_reconstruction_loss,
    code_discriminator_loss,
    encoder_adversarial_loss,
    train_aae,
)
from .anomaly import anomaly_scores, roc_auc
from .applications import (
    InpaintingLoss,
    SuperResolutionLoss,
    apply_mask,
    block_mask,
    downsample,
    keep_observed,
    kmeans_ari,
    psnr,
    upsample,
)
from .collapse import (
    AutoregressiveDecoder,
    CollapseLoss,
    CollapseVAE,
    MaskedLinear,
    active_units,
    free_bits_kl,
    kl_per_dim,
    kl_weight,
    made_masks,
)
from .conditional import (
    ConditionalVAE,
    conditional_elbo,
    conditional_importance_weighted_bound,
    cvae_loss,
)
from .contractive import ContractiveLoss, contractive_penalty, jacobian_norm_sq
from .convolutional import ConvAutoencoder
from .core import (
    Autoencoder,
    activation_derivative,
    make_activation,
    per_example_error,
    reconstruction_errors,
    reconstruction_loss,
    structure_of,
)
from .denoising import DenoisingLoss, corrupt
from .disentangled import (
    BetaVAELoss,
    discretize_codes,
    latent_traversal,
    mutual_info_gap,
    mutual_information_matrix,
)
from .linear import (
    decoder_subspace,
    linear_autoencoder,
    pca_reconstruction_error,
    pca_subspace,
    principal_angles,
)
from .masked import (
    MAELoss,
    MaskedAutoencoder,
    MaskedOutput,
    PatchMask,
    gather_patches,
    kept_patches,
    masked_mse,
    random_masking,
)
from .sparse import (
    KSparseLoss,
    L1ActivityLoss,
    SparseLoss,
    k_sparse,
    kl_sparsity,
    l1_activity,
    mean_activation,
)
from .stacked import StackedEncoder, pretrain_stack
from .tied import TiedAutoencoder, TiedLinear, weight_parameter_count
from .variational import (
    VariationalAutoencoder,
    elbo,
    gaussian_kl,
    importance_weighted_bound,
    reparameterize,
    vae_loss,
)
from .vector_quantized import (
    VQVAE,
    Quantized,
    VectorQuantizer,
    code_usage,
    codebook_perplexity,
    prior_sequences,
    sample_prior,
    vqvae_loss,
)

__all__ = [
    "Autoencoder",
    "reconstruction_loss",
    "reconstruction_errors",
    "per_example_error",
    "TiedAutoencoder",
    "TiedLinear",
    "weight_parameter_count",
    "structure_of",
    "make_activation",
    "activation_derivative",
    "linear_autoencoder",
    "pca_subspace",
    "decoder_subspace",
    "principal_angles",
    "pca_reconstruction_error",
    "StackedEncoder",
    "pretrain_stack",
    "SparseLoss",
    "kl_sparsity",
    "mean_activation",
    "l1_activity",
    "L1ActivityLoss",
    "k_sparse",
    "KSparseLoss",
    "DenoisingLoss",
    "corrupt",
    "BetaVAELoss",
    "discretize_codes",
    "mutual_information_matrix",
    "mutual_info_gap",
    "latent_traversal",
    "ContractiveLoss",
    "contractive_penalty",
    "jacobian_norm_sq",
    "ConvAutoencoder",
    "VariationalAutoencoder",
    "gaussian_kl",
    "reparameterize",
    "elbo",
    "vae_loss",
    "importance_weighted_bound",
    "ConditionalVAE",
    "conditional_elbo",
    "conditional_importance_weighted_bound",
    "cvae_loss",
    "anomaly_scores",
    "roc_auc",
    "MaskedLinear",
    "made_masks",
    "AutoregressiveDecoder",
    "CollapseVAE",
    "kl_per_dim",
    "kl_weight",
    "free_bits_kl",
    "active_units",
    "CollapseLoss",
    "psnr",
    "block_mask",
    "apply_mask",
    "keep_observed",
    "downsample",
    "upsample",
    "InpaintingLoss",
    "SuperResolutionLoss",
    "kmeans_ari",
    "VectorQuantizer",
    "Quantized",
    "VQVAE",
    "vqvae_loss",
    "code_usage",
    "codebook_perplexity",
    "prior_sequences",
    "sample_prior",
    "MaskedAutoencoder",
    "MAELoss",
    "MaskedOutput",
    "PatchMask",
    "kept_patches",
    "random_masking",
    "gather_patches",
    "masked_mse",
    "AdversarialAutoencoder",
    "GaussianMixturePrior",
    "aae_reconstruction_loss",
    "code_discriminator_loss",
    "encoder_adversarial_loss",
    "train_aae",
]

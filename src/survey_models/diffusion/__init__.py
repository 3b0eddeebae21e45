"""Diffusion and flow models (survey chapter 3): one forward process, many samplers.

- :mod:`.ddpm` — the forward (noising) process of DDPM and its samplers: ancestral
  sampling, DDIM, classifier-free guidance, latent diffusion.
- :mod:`.score_sde` — the continuous-time view: the VP-SDE, denoising score matching,
  the reverse-time SDE and the probability-flow ODE (encode and decode).
- :mod:`.flow_matching` — flow matching and rectified flow: straight paths, the
  conditional flow-matching loss, Euler sampling, reflow, straightness.
- :mod:`.sampler_distillation` — progressive distillation of a DDIM sampler into a
  few-step (down to one-step) student.
- :mod:`.dit` — the diffusion Transformer: patches, adaLN-Zero blocks, a drop-in
  replacement for the MLP denoiser.

The names of :mod:`.ddpm` are re-exported here, so ``from survey_models.diffusion import
NoiseSchedule`` keeps working; the later models live in their own submodules and are
imported from there.
"""

from . import ddpm
from .ddpm import *  # noqa: F403 - the names listed in ddpm.__all__, kept in one place

__all__ = list(ddpm.__all__)

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

from .ddpm import (
    Denoiser,
    LatentCodec,
    NoiseSchedule,
    ddim_sample,
    ddim_sigma,
    ddim_step,
    ddim_timesteps,
    ddpm_sample,
    ddpm_step,
    diffusion_loss,
    model_eps,
    timestep_embedding,
)

__all__ = [
    "NoiseSchedule",
    "Denoiser",
    "timestep_embedding",
    "diffusion_loss",
    "model_eps",
    "ddpm_step",
    "ddpm_sample",
    "ddim_sigma",
    "ddim_step",
    "ddim_timesteps",
    "ddim_sample",
    "LatentCodec",
]

"""The recipe of the shipped model: three phases by step count, one run, resumable.

  teacher      pixel L1 + L2 + pooled L1 against the DCGAN teacher (same z) + feature hints
  adversarial  + a non-saturating adversarial term on plain and style-mixed latents
               (the phase that turns blurry averages into detectable faces)
  drag         + drag consistency (training/drags.py): at the latent DragGAN reaches, the
               image must show the content moved as far as the tracker claims

Each phase sets the optimiser (lr, Adam betas) and the loss weights; `--until` can stop early and
a later run with a larger `--until` resumes. The defaults are the shipped run.
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Phase:
    name: str
    until: int                    # last step (exclusive) of this phase
    lr: float
    betas: tuple
    hint: float = 0.5             # feature-hint weight
    adv: float = 0.0              # adversarial weight (plain and style-mixed latents)
    drag: float = 0.0             # drag-consistency weight (pixels; features at half of it)
    drag_batch: int = 8           # faces per step in the drag term
    drag_steps: int = 8           # DragGAN steps per drag
    drag_lr: float = 0.01         # their learning rate


@dataclass(frozen=True)
class Recipe:
    batch: int = 16
    ema_halflife: float = 200     # steps
    seed: int = 0
    bf16: bool = True             # autocast the networks to bfloat16 where the CPU/GPU has it (~1.45x here)
    phases: tuple = field(default_factory=lambda: (
        Phase("teacher", 4000, lr=2e-3, betas=(0.9, 0.99)),
        Phase("adversarial", 7000, lr=1e-3, betas=(0.5, 0.99), adv=0.2),
        Phase("drag", 9600, lr=5e-4, betas=(0.5, 0.99), adv=0.2, hint=0.0, drag=2.0),
    ))

    def phase_at(self, step):
        for p in self.phases:
            if step < p.until:
                return p
        return self.phases[-1]

    @property
    def total(self):
        return self.phases[-1].until


def tiny(recipe_steps=(6, 10, 14)):
    """A few-step recipe of the same shape, for tests."""
    a, b, c = recipe_steps
    return Recipe(batch=4, ema_halflife=2, bf16=False, phases=(
        Phase("teacher", a, lr=2e-3, betas=(0.9, 0.99)),
        Phase("adversarial", b, lr=1e-3, betas=(0.5, 0.99), adv=0.2),
        Phase("drag", c, lr=5e-4, betas=(0.5, 0.99), adv=0.2, hint=0.0, drag=2.0, drag_batch=2, drag_steps=2),
    ))

"""Tools that make weights: the distillation of the bundled 64 px face model (`faces64`).

Nothing in the library (stylegan, dragcore, draggan, freedrag, latent, dcgan) imports this
package; it imports them. One command trains the shipped model from scratch:

    python -m training --out runs/faces64            # resumable: run it again to continue

See `training/recipe.py` for the phases and `stylegan/pretrained/MODEL_CARD.md` for the run.

Errors: `training.loop.CheckpointMismatch` (a ValueError), a run folder that cannot be resumed with
this recipe; the teacher's and student's loading errors are dcgan's and stylegan's.
"""

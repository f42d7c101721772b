"""The generator protocol the drag engines use, and its adapters (StyleGAN2 in W / W+, DCGAN in Z).

An engine never calls a network directly. It asks an adapter for:

    latent_init(seed, psi, space) -> latent         the starting latent, in the adapter's layout
    split(latent) -> (trainable, frozen)            what Adam optimises and what stays fixed
    join(trainable, frozen) -> latent
    features(latent) -> F [1, C, fr, fr * W / H]    synthesis stopped after the feature block
    image(latent) -> [1, 3, H, W] in ~[-1, 1]
    image_and_features(latent) -> (image, F)        one pass, for previews / the reference mode
    features_and_preview(latent) -> (F, image at the feature block)   optional (StyleGAN skip: step_previews)
    features_near(latent, boxes) -> F inside boxes (zeros elsewhere), or None   optional (StyleGAN: windows)
    image_near(latent, boxes) -> the image inside boxes, or None                 optional (StyleGAN: windows)
    image_above(latent, F, image at the feature block) -> the image, or None     optional (StyleGAN skip: arrival)
    shape (H, W), resolution (= H, as G.img_resolution), feature_res (the block's height), device,
    space_names, default_lr

Non-square generators (StyleGAN-Human, 512x256) keep their shape: features have the image's
aspect, points and masks are H x W. The official DragGAN pads such images (and features, with
zeros) to a square instead; we do not, so nothing is ever tracked into the padding.

Feature block. DragGAN supervises the output of the 6th synthesis block, the 128x128 block of
any model of 256 px or more. Smaller models (the bundled 64 px face model) have no 6th block
below their output, so we take the block at half the output resolution: `min(128, res // 2)`.
That keeps the ratio of the 256 px models (features at res/2), skips the last block (whose
features are little more than colour, since its only job is the RGB output: poor for tracking)
and its cost. Pass `feature_res` to an adapter to override.

The DCGAN is different: its 32x32 layer is its last hidden layer (64 channels right before
the RGB output) and there DragGAN's motion loss is minimised by flattening the features
instead of moving content (on the bundled DCGAN the handle does not move at all). Its 16x16
layer (128 channels) drags, so the DCGAN adapter uses res / 4. It also moves
in Z, where coordinates are ~N(0, 1) and the paper's W-space learning rate 0.002 crawls, so its
default learning rate is 0.01.
"""
from contextlib import contextmanager, nullcontext

import numpy as np
import torch

import stylegan
from stylegan import seeds
from stylegan.networks import FEATURE_TILES

from . import startpass
from .errors import DragInputError

TRAINABLE_ROWS = 6  # W+ rows 0-5 are optimised (DragGAN / FreeDrag), the rest stay fixed


def default_feature_res(resolution):
    """The supervised block: 128 for >= 256 px (the 6th block), res / 2 below that (see module doc)."""
    return max(4, min(128, resolution // 2))


def _seed_z(seed, z_dim, device):
    """stylegan.seeds.seed_z (the one implementation), a bad seed reported as the drag input error it is."""
    try:
        return seeds.seed_z(seed, z_dim, device)
    except ValueError as e:
        raise DragInputError(str(e)) from None


def _freeze(module, device):
    # Only the latent is optimised: without this, every backward would also build weight gradients.
    module.to(device).eval().requires_grad_(False)
    return module


class StyleGANAdapter:
    """A stylegan.Generator seen through the protocol. W+ latent: [1, num_ws, w_dim] with rows
    0-5 trainable; W latent: [1, w_dim], one shared w, all trainable.

    A generator with a warp pathway (stylegan.warp) has one more W+ row, its deformation code:
    W+ latents are [1, num_ws + 1, w_dim] (a latent without it gets a zero code), and the code
    is trainable with the first rows, so a drag can move content through the pathway. W latents
    have no code (a drag in W never warps)."""

    space_names = ("w+", "w")
    kind = "stylegan"
    default_lr = 0.002  # DragGAN paper (the official UI uses 0.001)

    def __init__(self, G, device="cpu", feature_res=None, noise_mode="const", rows=None):
        self.G = _freeze(G, device)
        self.device = torch.device(device)
        self.resolution = G.img_resolution
        self.shape = tuple(getattr(G, "img_shape", (self.resolution, self.resolution)))
        self.feature_res = default_feature_res(self.resolution) if feature_res is None else int(feature_res)
        blocks = G.synthesis.block_resolutions
        if self.feature_res not in blocks:
            raise DragInputError(f"feature_res {self.feature_res} is not a synthesis block ({blocks})")
        self.noise_mode = noise_mode  # constant noise: resampling it every step makes the image flicker
        self.follower = None          # a dragcore.noise_follow.NoiseFollower: the maps follow the drag
        self.picture = None           # a dragcore.field_picture.FieldPicture: every image is that (a photo drag's option)
        self.rows = min(TRAINABLE_ROWS, G.num_ws) if rows is None else rows
        self.code_rows = 0 if getattr(G.synthesis, "warp", None) is None else 1   # the deformation code row
        low = 0 if self.code_rows else 1   # 0: only the deformation code moves (a drag through the warp alone)
        if isinstance(self.rows, bool) or not isinstance(self.rows, int) or not low <= self.rows <= G.num_ws:
            why = "" if self.code_rows or rows != 0 else \
                " (0, only the deformation code, needs a model with a warp pathway; this one has none)"
            raise DragInputError(f"rows (trainable W+ rows) must be an integer in [{low}, {G.num_ws}], got {rows!r}{why}")

    def latent_init(self, seed, psi=0.7, space="w+"):
        space = str(space).lower()
        if space not in self.space_names:
            raise DragInputError(f"space must be one of {self.space_names} for a StyleGAN model, got {space!r}")
        if self.G.c_dim:
            raise DragInputError("conditional StyleGAN models (c_dim > 0) are not supported by the drag engines")
        if not (isinstance(psi, (int, float)) and np.isfinite(psi)):
            raise DragInputError(f"truncation psi must be a finite number, got {psi!r}")
        with torch.no_grad():
            ws = self.G.mapping(_seed_z(seed, self.G.z_dim, self.device), truncation_psi=float(psi))
        return ws[:, 0].clone() if space == "w" else self.with_code(ws)

    def with_code(self, ws):
        """W+ style rows [1, num_ws, w_dim] -> this adapter's W+ latent (a zero deformation code appended)."""
        if not self.code_rows:
            return ws
        return torch.cat([ws, ws.new_zeros(ws.shape[0], self.code_rows, ws.shape[2])], 1)

    def check_latent(self, latent):
        w, n = self.G.w_dim, self.G.num_ws
        shapes = [(1, w), (1, n, w)] + ([(1, n + self.code_rows, w)] if self.code_rows else [])
        if not isinstance(latent, torch.Tensor) or tuple(latent.shape) not in shapes:
            shape = list(latent.shape) if isinstance(latent, torch.Tensor) else type(latent).__name__
            plus = f" (or [1, {n + self.code_rows}, {w}] with the deformation code)" if self.code_rows else ""
            raise DragInputError(f"latent must be W [1, {w}] or W+ [1, {n}, {w}]{plus}, got {shape}")
        if not torch.isfinite(latent).all():
            raise DragInputError("latent contains NaN or Inf")
        latent = latent.to(self.device, torch.float32)
        return self.with_code(latent) if latent.ndim == 3 and latent.shape[1] == n else latent

    def space_of(self, latent):
        return "w" if latent.ndim == 2 else "w+"

    def split(self, latent):
        """(trainable, frozen): W+ rows 0..rows-1 (and the deformation code, last) | the other style rows."""
        if latent.ndim == 2:
            return latent, latent[:, :0]
        n = self.G.num_ws
        return torch.cat([latent[:, :self.rows], latent[:, n:]], 1), latent[:, self.rows:n]

    def join(self, trainable, frozen):
        if trainable.ndim == 2:
            return trainable
        return torch.cat([trainable[:, :self.rows], frozen, trainable[:, self.rows:]], dim=1)

    def ws(self, latent):
        return latent.unsqueeze(1).expand(-1, self.G.num_ws, -1) if latent.ndim == 2 else latent

    def _noise(self, latent):
        """Every pass runs with the follower's maps when there is one (dragcore.noise_follow)."""
        return nullcontext() if self.follower is None else self.follower.applied(latent)

    def features(self, latent):
        with self._noise(latent), self._no_grad(latent) as tiles:
            ws = self.ws(latent)
            kept = startpass.lookup(self.G.synthesis, ws, self.feature_res, self.noise_mode) if tiles else None
            if kept is not None:   # the render of this very start already passed the feature block
                return kept[0]
            if tiles:
                return self.G.synthesis.tiled(ws, self.feature_res, self.noise_mode, self.feature_res, False,
                                              **FEATURE_TILES)[1]
            return self.G.synthesis.features(ws, res=self.feature_res, noise_mode=self.noise_mode)

    def image(self, latent):
        if self.picture is not None:
            return self.picture(latent)
        with self._noise(latent), self._no_grad(latent) as tiles:
            if tiles:
                return self._render(self.ws(latent))[0]
            return self.G.synthesis(self.ws(latent), noise_mode=self.noise_mode)

    def image_and_features(self, latent):
        if self.picture is not None:
            return self.picture(latent), self.features(latent)
        with self._noise(latent), self._no_grad(latent) as tiles:
            if tiles:
                return self._render(self.ws(latent))
            return self.G.synthesis(self.ws(latent), noise_mode=self.noise_mode, feature_res=self.feature_res)

    def image_above(self, latent, features, partial):
        """The image of `latent` from what a pass to the feature block at that latent gave (`features`, and
        `partial`, the image accumulated there: `features_and_preview`): only the stages above the block run
        (SynthesisNetwork.render_above), no gradients. None where that does not apply: render the whole image.
        The render keeps its start pass for the next drag as `image_and_features` does (dragcore.startpass)."""
        if self.picture is not None:
            return self.picture(latent)
        with self._noise(latent), torch.no_grad():
            ws = self.ws(latent)
            img = self.G.synthesis.render_above(ws, self.feature_res, features, partial, self.noise_mode)
            if img is not None:
                startpass.keep(self.G.synthesis, ws, self.feature_res, self.noise_mode, features, partial)
            return img

    def _render(self, ws):
        """(image, F) without gradients (large images in strips, stylegan.windows); what the pass saw at the
        feature block is kept for a drag that starts from this image (dragcore.startpass)."""
        img, feat, partial = self.G.synthesis.render_kept(ws, self.feature_res, self.noise_mode)
        startpass.keep(self.G.synthesis, ws, self.feature_res, self.noise_mode, feat, partial)
        return img, feat

    @contextmanager
    def _no_grad(self, latent):
        """Yields True (and runs the block without gradients) when no gradient can flow: gradients disabled, or a
        latent that does not ask for them (the generator is frozen). Such passes run in strips
        (SynthesisNetwork.tiled: the same values, less memory), and renders keep their start pass."""
        free = not (torch.is_grad_enabled() and latent.requires_grad) and hasattr(self.G.synthesis, "render_kept")
        with torch.no_grad() if free else nullcontext():
            yield free

    def image_near(self, latent, boxes):
        """The image computed only inside `boxes` (stylegan.windows.Box of the image), or None: render it whole."""
        if self.picture is not None:
            return None
        with self._noise(latent):
            return self.G.synthesis.image_near(self.ws(latent), boxes, self.noise_mode)

    @property
    def step_previews(self):
        """True when `features_and_preview` gives an image (a skip-architecture synthesis)."""
        return self.G.synthesis.skip_images

    def features_and_preview(self, latent):
        """(F as `features` returns it, the image accumulated up to the feature block [1, 3, fr, fw],
        no gradients): one pass, a preview at the feature block's resolution for nearly nothing."""
        if self.picture is not None:
            with torch.no_grad():
                feats = self.features(latent)
            return feats, torch.nn.functional.interpolate(self.picture(latent), size=feats.shape[-2:], mode="area")
        with self._noise(latent), self._no_grad(latent) as tiles:
            ws = self.ws(latent)
            kept = startpass.lookup(self.G.synthesis, ws, self.feature_res, self.noise_mode,
                                    partial=self.step_previews) if tiles else None
            if kept is not None:   # the render of this very start already passed the feature block
                return kept
            if tiles:
                img, feat = self.G.synthesis.tiled(ws, self.feature_res, self.noise_mode, self.feature_res,
                                                   self.G.synthesis.skip_images, **FEATURE_TILES)
                return feat, img
            return self.G.synthesis.features_and_preview(ws, self.feature_res, noise_mode=self.noise_mode)

    def features_near(self, latent, boxes):
        """F as `features` returns it, but computed only inside `boxes` (stylegan.windows.Box of the feature
        map) and zero elsewhere, or None when windows would not pay (then `features`)."""
        with self._noise(latent):
            return self.G.synthesis.features_near(self.ws(latent), self.feature_res, boxes, self.noise_mode)


class DCGANAdapter:
    """The DCGAN of `dcgan/` in Z space: latent z [1, z_dim], all of it trainable. Truncation
    `psi` scales z towards the prior's mean (0), the usual truncation for a Gaussian prior."""

    space_names = ("z",)
    kind = "dcgan"
    default_lr = 0.01

    def __init__(self, G, device="cpu", feature_res=None):
        self.G = _freeze(G, device)
        self.device = torch.device(device)
        self.resolution = int(getattr(G, "img_resolution", None) or G(torch.zeros(1, G.z_dim, device=self.device)).shape[-1])
        self.shape = (self.resolution, self.resolution)
        self.feature_res = max(4, self.resolution // 4) if feature_res is None else int(feature_res)

    def latent_init(self, seed, psi=0.7, space="z"):
        if str(space).lower() not in self.space_names:
            raise DragInputError(f"a DCGAN is dragged in Z space: space must be 'z', got {space!r}")
        if not (isinstance(psi, (int, float)) and np.isfinite(psi)):
            raise DragInputError(f"truncation psi must be a finite number, got {psi!r}")
        return _seed_z(seed, self.G.z_dim, self.device) * float(psi)

    def check_latent(self, latent):
        if not isinstance(latent, torch.Tensor) or tuple(latent.shape) != (1, self.G.z_dim):
            raise DragInputError(f"latent must be z [1, {self.G.z_dim}]")
        if not torch.isfinite(latent).all():
            raise DragInputError("latent contains NaN or Inf")
        return latent.to(self.device, torch.float32)

    def space_of(self, latent):
        return "z"

    def split(self, latent):
        return latent, latent[:, :0]

    def join(self, trainable, frozen):
        return trainable

    def features(self, latent):
        return self.G.features(latent, self.feature_res)

    def image(self, latent):
        return self.G(latent)

    def image_and_features(self, latent):
        if hasattr(self.G, "image_and_features"):
            return self.G.image_and_features(latent, self.feature_res)
        return self.G(latent), self.G.features(latent, self.feature_res)


def generator_kind(generator):
    """"stylegan" (a stylegan.Generator: mapping, W / W+), "dcgan" (a network with `features` and
    `z_dim` and no synthesis: Z only) or "adapter" (already a protocol adapter). The one place a
    generator's kind is decided: the adapters, the drag CLI, the latent sources, the app's tabs and
    training ask here. Anything else: DragInputError."""
    if all(hasattr(generator, a) for a in ("latent_init", "split", "join", "features", "image_and_features")):
        return "adapter"
    if isinstance(generator, stylegan.Generator):
        return "stylegan"
    if hasattr(generator, "features") and hasattr(generator, "z_dim") and not hasattr(generator, "synthesis"):
        return "dcgan"
    raise DragInputError(f"cannot drag a {type(generator).__name__}: expected a stylegan.Generator, "
                         "a dcgan generator or a protocol adapter")


def warp_of(gen):
    """The warp pathway (stylegan.warp) a generator, or an adapter's generator, draws through, or None."""
    return getattr(getattr(getattr(gen, "G", gen), "synthesis", None), "warp", None)


def adapt(generator, device="cpu", feature_res=None, rows=None):
    """Wrap a network in its adapter (an adapter passes through unchanged). rows: how many W+ rows
    a StyleGAN drag optimises (default 6, the papers'); a DCGAN moves all of z, so rows is an error there."""
    kind = generator_kind(generator)
    if kind == "adapter":
        if rows is not None and rows != getattr(generator, "rows", None):
            raise DragInputError("rows cannot be changed on an existing adapter: pass the generator instead")
        return generator
    if kind == "stylegan":
        return StyleGANAdapter(generator, device, feature_res, rows=rows)
    if rows is not None:
        raise DragInputError("rows (trainable W+ rows) applies to StyleGAN models; a DCGAN is dragged in all of z")
    return DCGANAdapter(generator, device, feature_res)

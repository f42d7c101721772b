"""The shape of a generator, as one plain dataclass (what our safetensors files store).

Sizes are counted the way the StyleGAN papers count them: `resolution` is the image height
and names the synthesis stages (4, 8, ..., resolution px). A non-square generator
(StyleGAN-Human: 512x256, 1024x512) sets `width`; every stage then keeps the image's aspect,
starting from a 4 x (4 * width / resolution) constant.
"""
import dataclasses
import math

ARCHITECTURES = ("skip", "resnet", "orig")


def _is_pow2(n):
    return isinstance(n, int) and n > 0 and n & (n - 1) == 0


@dataclasses.dataclass
class GeneratorConfig:
    z_dim: int = 512
    c_dim: int = 0                   # class-label size; 0 = unconditional
    w_dim: int = 512
    resolution: int = 1024           # image height in pixels
    width: int = None                # image width (default: square)
    img_channels: int = 3
    mapping_layers: int = 8
    mapping_width: int = None        # hidden width of the mapping MLP (default w_dim)
    embed_dim: int = None            # label embedding size when c_dim > 0 (default w_dim)
    mapping_lr: float = 0.01         # equalised-lr multiplier of the mapping MLP
    w_avg_beta: float = 0.995        # decay of the running mean of w (truncation centre)
    channel_base: int = 32768        # channels of the stage at r px: min(channel_base // r, channel_max)
    channel_max: int = 512
    channels: list = None            # explicit channels per stage, 4 px first (overrides the two above)
    architecture: str = "skip"       # how RGB is formed: skip (sum of per-stage RGB), resnet, orig
    conv_clamp: float = None         # clamp conv outputs to +-conv_clamp (keeps fp16 finite)
    use_noise: bool = True
    fir: list = (1, 3, 3, 1)         # separable low-pass taps used by every 2x up-sampling
    warp_res: int = None             # the warp pathway (stylegan.warp) after this stage; None: none
    warp_grid: int = 8               # its k x k displacement bumps
    warp_gain: float = 0.1           # its displacement per unit of deformation code (image units)

    def __post_init__(self):
        if not _is_pow2(self.resolution) or self.resolution < 4:
            raise ValueError(f"resolution must be a power of two >= 4, got {self.resolution!r}")
        self.width = self.resolution if self.width is None else self.width
        if not _is_pow2(self.width) or 4 * self.width < self.resolution:
            raise ValueError(f"width must be a power of two with 4 * width >= resolution, got {self.width!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        for name in ("z_dim", "w_dim", "img_channels", "mapping_layers"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < (0 if name == "z_dim" else 1):
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.z_dim == 0 and self.c_dim == 0:
            raise ValueError("a generator needs z_dim > 0 or c_dim > 0")
        n = len(self.resolutions)
        if self.channels is None:
            self.channels = [min(self.channel_base // r, self.channel_max) for r in self.resolutions]
        elif isinstance(self.channels, dict):  # {res: channels}, keys may be strings (JSON)
            self.channels = [self.channels.get(r, self.channels.get(str(r))) for r in self.resolutions]
        self.channels = [int(c) for c in self.channels if c is not None]
        if len(self.channels) != n or min(self.channels) < 1:
            raise ValueError(f"channels must give a positive count for each of the {n} stages {self.resolutions}")
        self.fir = [float(t) for t in self.fir]
        if len(self.fir) != 4:
            raise ValueError(f"fir must have 4 taps, got {self.fir}")
        self.conv_clamp = None if self.conv_clamp is None else float(self.conv_clamp)
        if self.warp_res is not None:
            if self.warp_res not in self.resolutions[:-1]:
                raise ValueError(f"warp_res must be a stage below the output {self.resolutions[:-1]}, got {self.warp_res!r}")
            if isinstance(self.warp_grid, bool) or not isinstance(self.warp_grid, int) or not 2 <= self.warp_grid <= 32:
                raise ValueError(f"warp_grid must be an integer in [2, 32], got {self.warp_grid!r}")
            if isinstance(self.warp_gain, bool) or not isinstance(self.warp_gain, (int, float)) \
                    or not 0 < self.warp_gain <= 10:
                raise ValueError(f"warp_gain must be a number in (0, 10], got {self.warp_gain!r}")
            self.warp_gain = float(self.warp_gain)

    @property
    def resolutions(self):
        """Stage heights: 4, 8, ..., resolution."""
        return [2 ** i for i in range(2, int(math.log2(self.resolution)) + 1)]

    @property
    def img_shape(self):
        return self.resolution, self.width

    def stage_shape(self, res):
        """(height, width) of the feature maps of the stage at `res` px."""
        return res, res * self.width // self.resolution

    @property
    def num_ws(self):
        """W+ rows: one per convolution (1 at 4 px, 2 per later stage) plus the final to-RGB."""
        return 2 * len(self.resolutions)

    @property
    def code_rows(self):
        """Latent rows after the style rows: 1 (the deformation code) with a warp pathway, else 0."""
        return 0 if self.warp_res is None else 1

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown generator config fields {unknown}")
        return cls(**d)

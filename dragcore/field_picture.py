"""A photo drag's picture as the reconstruction moved by the warp pathway's own field (an option of the photo path).

On a generator with a warp pathway (stylegan.warp) a photo drag moves the deformation code alone (drags.in_photo),
and the pathway displaces the content at its stage by the code's field. The stages after it, tuned by PTI for the
pivot, then draw the photo's detail again on the moved content: the blotches and ghost contours of a photo drag
(docs/benchmarks.md, "Your own photo, session 23"). `FieldPicture` shows instead what the code means: the start
latent's own picture (the reconstruction, its code set to zero) resampled by the field of the latent's code at the
image's resolution (content at x moves to x + u(x), as the pathway moves it; read by grid_sample's `mode`,
bilinear as the pathway reads its features, or bicubic, which keeps the reconstruction's sharpness). The engines still optimise
the code through the generator's features; every picture a session makes (its renders, previews, the trackers'
and the report's images) is this one, so what is tracked, reported and shown agree.

`DragSession.field_picture()` installs it on a session's adapter (StyleGANAdapter.picture);
`drags.in_photo.PICTURE` says which engines' photo drags do (every engine's since session 25).
"""
import torch


PICTURES = ("render", "field")   # what a photo drag shows: the tuned generator's render, or this module's picture
MODES = ("bilinear", "bicubic")   # how the picture is read along the field (grid_sample's mode)


class FieldPicture:
    """picture(latent): `start` [1, 3, H, W] (the picture at a zero code) moved by `warp`'s field for the latent's
    deformation code row (a latent without that row: `start` itself), read by `mode` (MODES)."""

    def __init__(self, warp, start, num_ws, mode="bilinear"):
        if mode not in MODES:
            raise ValueError(f"picture mode {mode!r}: choose from {', '.join(MODES)}")
        self.warp, self.start, self.num_ws, self.mode = warp, start.detach().float(), int(num_ws), mode

    def __call__(self, latent):
        if latent.ndim != 3 or latent.shape[1] != self.num_ws + 1:
            return self.start.clone()
        with torch.no_grad():
            code = latent[:, -1].detach().float().to(self.start.device)
            u = self.warp.field(code, *self.start.shape[-2:])
            return self.warp.apply(self.start, u, mode=self.mode)   # as the pathway moves

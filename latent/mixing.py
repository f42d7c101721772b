"""Style mixing: rows of one W+ latent replaced by another's at coarse / middle / fine layers.

Ranges follow the StyleGAN paper's definition by block resolution: coarse = the 4-8 px blocks,
middle = 16-32 px, fine = 64 px and up. In W+ rows that is 0-3 / 4-7 / 8-(num_ws-1): 8-17 for
1024 px models (18 rows), 8-15 for 512 px (16 rows), 8-9 for the bundled 64 px model (10 rows).
"""
import torch

from stylegan.imageops import to_uint8
from stylegan.seeds import seed_z

from .util import LatentError, require_mapping

def layer_ranges(num_ws):
    """{'coarse', 'middle', 'fine'} -> W+ rows. Block b{2^k} reads rows 2k-5 and 2k-4 (b4: row 0)."""
    if num_ws < 10:
        raise LatentError(f"style mixing needs a model of at least 64 px (num_ws >= 10), got num_ws {num_ws}")
    return {"coarse": range(0, 4), "middle": range(4, 8), "fine": range(8, num_ws)}


def mix(G, ws_dst, ws_src, rows):
    rows = list(rows)
    if not rows or min(rows) < 0 or max(rows) >= G.num_ws:
        raise LatentError(f"layer rows must lie in 0..{G.num_ws - 1}, got {rows}")
    out = ws_dst.clone()
    out[:, rows] = ws_src[:, rows]
    return out


def style_mix_grid(G, row_seeds, col_seeds, psi=0.7, ranges=("coarse", "middle", "fine")):
    """Grid as a list of uint8 rows: first row the column (source) images, then for every row seed and
    every range, the row seed's image with the source's rows of that range. Returns (rows, labels)."""
    require_mapping(G)
    rr = layer_ranges(G.num_ws)
    for r in ranges:
        if r not in rr:
            raise LatentError(f"unknown layer range {r!r}; choose from {list(rr)}")
    dev = next(G.parameters()).device
    with torch.no_grad():
        def ws_of(s):
            return G.mapping(seed_z(s, G.z_dim, dev), truncation_psi=psi)
        src = [ws_of(s) for s in col_seeds]
        rows = [to_uint8(torch.cat([G.synthesis(w) for w in src]))]
        labels = ["sources"]
        for s in row_seeds:
            dst = ws_of(s)
            for r in ranges:
                imgs = [G.synthesis(mix(G, dst, w, rr[r])) for w in src]
                rows.append(to_uint8(torch.cat(imgs)))
                labels.append(f"seed {s}, {r} rows {rr[r].start}-{rr[r].stop - 1} from sources")
    return rows, labels

"""The errors of `dcgan`, one tree rooted in ValueError:

    DCGANError(ValueError)
      DataError               a training folder that cannot be used (missing, empty, no usable image)
      DCGANCheckpointError    a DCGAN file that cannot be used: a training checkpoint to resume
                              from, or a generator's weights (corrupt, not ours, wrong shapes)

Why not a subclass of stylegan.CheckpointError: that one means "not a usable StyleGAN2 generator",
and the Hub loader answers it by deleting the download and trying the model's next source. A DCGAN
file is a different format with its own loader; sharing the class would only let one package's
handler catch the other's failures. Both are ValueErrors, which is what the CLIs catch."""


class DCGANError(ValueError):
    """Base of the dcgan package's errors; the message names the file or folder."""


class DataError(DCGANError):
    """The training images cannot be used."""


class DCGANCheckpointError(DCGANError):
    """A DCGAN checkpoint or weights file cannot be used."""

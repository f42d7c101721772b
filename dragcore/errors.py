"""The errors of the drag engines (dragcore, draggan, freedrag): one hierarchy, rooted in ValueError
so that callers that only know ValueError still catch them.

    DragInputError(ValueError)      bad user input: points, masks, hyper-parameters, seeds, models
      MotionError                   two images or points the motion measure cannot compare
"""


class DragInputError(ValueError):
    """A drag was asked for with input that cannot work; the message names the problem."""


class MotionError(DragInputError):
    """The two images or the points cannot be compared (different sizes, bad shapes)."""

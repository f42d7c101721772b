"""The one exception type of the drag engines: bad user input (points, masks, hyper-parameters,
models). It is a ValueError, so callers that only know ValueError still catch it."""


class DragInputError(ValueError):
    """A drag was asked for with input that cannot work; the message names the problem."""

"""UI helpers that are not engine logic and not Gradio wiring: drawing points, masks from the
editor, running one or two drags as a stream of frames, exports and edit JSONs, and the models
a request may use (models.py). Framework-free and unit-tested, except guard.py, the Gradio side
of input safety; `app.py` only wires these to components."""

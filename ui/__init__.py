"""UI helpers that are not engine logic and not Gradio wiring: drawing points, masks from the
editor, running one or two drags as a stream of frames, and exports. Framework-free and
unit-tested; `app.py` only wires these to components."""

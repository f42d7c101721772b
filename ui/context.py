"""What every tab of the app shares: the device, the store of generators, the default model and
the ZeroGPU decorator. One instance per app process (the tabs import it)."""
import checkpoints
import stylegan
from ui import models as models_ui
from ui.models import ModelStore

try:  # ZeroGPU on Hugging Face Spaces; a no-op everywhere else
    import spaces
    gpu = spaces.GPU(duration=120)
except Exception:  # noqa: BLE001 - any import problem means "not on ZeroGPU"
    def gpu(fn):
        return fn

DEFAULT = {"model": checkpoints.DEFAULT_MODEL}   # replaced by `python app.py --model`
DEVICE = stylegan.pick_device()
STORE = ModelStore(DEVICE)   # read-only generators shared by all sessions (bounded LRU, see ui/models.py)


def get_model(model_id, uploads=None):
    return STORE.get(model_id, uploads)


def model_choices():
    return models_ui.choices(DEFAULT["model"])


def default_model():
    return DEFAULT["model"]

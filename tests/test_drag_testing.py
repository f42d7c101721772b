"""The shared test helper never swaps the shipped model for another one."""
import json

import pytest

import checkpoints
import stylegan
from drag_testing import drag_model, face_model


def test_drag_model_is_the_shipped_face_model():
    G = drag_model()
    assert isinstance(G, stylegan.Generator) and G.img_resolution == 64 and G.z_dim == 100


@pytest.mark.parametrize("content", [None, b"not a checkpoint"], ids=["missing", "corrupt"])
def test_a_missing_or_broken_shipped_model_fails_the_test_with_the_reason(tmp_path, monkeypatch, content):
    path = tmp_path / "faces64.safetensors"
    if content is not None:
        path.write_bytes(content)
    (tmp_path / "m.json").write_text(json.dumps({checkpoints.DEFAULT_MODEL: {"local_path": str(path)}}))
    monkeypatch.setenv("LATENTLAB_MODELS", str(tmp_path / "m.json"))
    with pytest.raises(pytest.fail.Exception, match=f"the shipped model '{checkpoints.DEFAULT_MODEL}' .* cannot be "
                                                    "loaded: .*(not built yet|not a checkpoint|safetensors)"):
        face_model()

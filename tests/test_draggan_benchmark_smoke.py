"""The step-time benchmark script runs end to end (tiny networks, one step) and writes its table."""
import json

from benchmarks.step_time import main


def test_step_time_benchmark_smoke(tmp_path):
    assert main(["--res", "64", "--tiny", "--steps", "1", "--warmup", "1", "--threads", "1", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "step_time_tiny.json").read_text())
    rows = {r["engine"]: r for r in data["rows"]}
    assert set(rows) == {"fast", "reference", "freedrag"}
    for r in rows.values():
        assert r["seconds_per_step"] > 0 and r["peak_rss_mb"] >= r["rss_after_model_mb"] > 0 and r["feature_res"] == 32
    assert data["summary"]["64"]["speedup"] > 0
    md = (tmp_path / "step_time_tiny.md").read_text()
    assert "| 64 |" in md and "python -m benchmarks.step_time" in md

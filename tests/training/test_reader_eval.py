"""`roadmind eval reader` on a few world frames: every block it reports, the light
block with the loop's combination, and scores that are counts of right readings."""

from __future__ import annotations

from loop.stack import shared_reader
from training.reader_eval import CORRUPTIONS, evaluate_reader


def test_reader_eval_reports_every_block_on_a_few_frames() -> None:
    out = evaluate_reader(shared_reader(), frames=8, seed=1, held_out_crops=6, progress=False)
    assert out["crops"]["signs_legible"] > 0 and out["crops"]["lights"] > 0
    signs = out["signs"]
    assert signs["n"] == out["crops"]["signs_legible"]
    right = sum(c["right"] for c in signs["per_class"].values())
    assert signs["accuracy"] == round(right / signs["n"], 4)
    lights = out["lights"]
    ways = ("reader", "pixel_state_reader", "pixel_then_reader")
    assert all(lights[w]["n"] == out["crops"]["lights"] for w in ways)
    best = max(lights[w]["accuracy"] for w in ways)
    assert lights[lights["better"].replace(" ", "_")]["accuracy"] == best
    assert set(out["robustness"]) == set(CORRUPTIONS)
    assert out["robustness"]["clean"] == signs["accuracy"]
    assert 0.0 <= out["zero_shot"]["paraphrases_accuracy"] <= 1.0

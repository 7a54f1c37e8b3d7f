from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from socialpulse.ai.analysis import ModelBundle
from socialpulse.ai.base import WEIGHTS_DIR

# The default models are about 5 MB and the multilingual word table about 5 MB; the rest is
# the accurate backend's two fine-tuned encoders (MiniLM's int8 delta, 10 MB, and e5's 4-bit
# layers, 11.5 MB).
MAX_TOTAL_BYTES = 36_000_000


def test_no_pickled_models_ship() -> None:
    files = [p for p in WEIGHTS_DIR.rglob("*") if p.is_file()]
    assert files
    assert not [p for p in files if p.suffix in {".pkl", ".pickle", ".joblib"}]
    assert {p.suffix for p in files} <= {".npz", ".json", ".md"}


def test_shipped_arrays_load_without_pickle() -> None:
    metadata = json.loads((WEIGHTS_DIR / "metadata.json").read_text(encoding="utf-8"))
    linear = [WEIGHTS_DIR / meta["file"] for meta in metadata["models"].values()]
    assert {path.name for path in linear} == {
        "sentiment.npz",
        "sentiment_multi.npz",
        "complaint.npz",
        "spam.npz",
    }
    for path in linear:
        with np.load(path, allow_pickle=False) as arrays:
            assert set(arrays.files) == {"weights", "bias", "idf"}
            assert arrays["weights"].dtype == np.float16
            assert arrays["weights"].shape[0] == arrays["idf"].shape[0]
            assert not any(arrays[name].dtype == object for name in arrays.files)


def test_every_shipped_array_file_is_pickle_free() -> None:
    for path in WEIGHTS_DIR.rglob("*.npz"):
        with np.load(path, allow_pickle=False) as arrays:
            assert arrays.files
            # Numbers (4-bit blocks as unsigned bytes), and base digests as unicode arrays.
            assert all(arrays[name].dtype.kind in "fiuU" for name in arrays.files)


def test_shipped_models_stay_small() -> None:
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.rglob("*") if p.is_file())
    assert total < MAX_TOTAL_BYTES


def test_metadata_names_every_model_and_a_version() -> None:
    metadata = json.loads((WEIGHTS_DIR / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["model_version"].startswith("sp-linear-")
    for name in ("sentiment", "complaint", "spam"):
        assert (WEIGHTS_DIR / metadata["models"][name]["file"]).is_file()
    bundle = ModelBundle.load(WEIGHTS_DIR)
    assert bundle.sentiment.labels == ["negative", "neutral", "positive"]
    assert bundle.sentiment.weights.shape == (bundle.spec.n_features, 3)


def test_model_card_documents_data_scores_and_format() -> None:
    card = (WEIGHTS_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    for needle in (
        "Twitter",
        "Complaints on Twitter",
        "YouTube Spam",
        "macro-recall",
        "allow_pickle=False",
        "texts/s",
    ):
        assert needle in card
    assert json.loads((WEIGHTS_DIR / "metadata.json").read_text())["model_version"] in card


def test_weights_dir_is_inside_the_package() -> None:
    assert Path(WEIGHTS_DIR).parent.name == "ai"


def test_model_card_records_the_e5_variants_cross_validation_chose_against() -> None:
    from socialpulse.ai.training.model_card import EARLIER_E5_VARIANTS, TRIED_E5_VARIANTS

    head = json.loads((WEIGHTS_DIR / "accurate" / "multi_head.json").read_text(encoding="utf-8"))
    shipped = head["metrics"]["variant"]
    card = (WEIGHTS_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    (record,) = [line for line in card.splitlines() if "Variants shipped before it" in line]
    for name, (_, _, alone, cv, val) in EARLIER_E5_VARIANTS.items():
        if name != shipped:
            assert f"`{name}`" in record
            assert f"{alone} alone, {cv} combined in CV, {val} on val" in record
    assert f"`{shipped}` (" not in record
    (tried,) = [part for part in record.split(". ") if part.startswith("Tried and not shipped")]
    for name, (_, _, alone, cv) in TRIED_E5_VARIANTS.items():
        assert f"`{name}` (" in tried
        assert f"{alone} alone" in tried
        assert cv is None or f"{cv} combined in CV" in tried

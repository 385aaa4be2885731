"""The shipped default models: names, and where their weights lie in the package."""

from __future__ import annotations

import difflib
from pathlib import Path

from latentjam.models.errors import CheckpointError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# the default of each kind; a kind's name stands for its model wherever a model is named
DEFAULT_MODELS = {"melody": "mel_2bar_chorales", "drums": "drums_2bar_mma",
                  "trio": "trio_16bar_mma"}
DEFAULT_MODEL = DEFAULT_MODELS["melody"]  # what `sample` uses when no model is named


def shipped_models() -> list[str]:
    """Names of the models under ``models/weights`` (each a folder with model.safetensors)."""
    return sorted(p.parent.name for p in WEIGHTS_DIR.glob("*/model.safetensors"))


def resolve_model(model: str | Path | None) -> Path:
    """A shipped model's name, or a path to a checkpoint in any supported format."""
    if model is None:
        model = DEFAULT_MODEL
    text = DEFAULT_MODELS.get(str(model), str(model))
    shipped = WEIGHTS_DIR / text / "model.safetensors"
    if "/" not in text and shipped.is_file():
        return shipped
    path = Path(text).expanduser()
    if path.exists() or Path(f"{path}.index").exists():
        return path
    known = ", ".join(shipped_models()) or "none installed"
    if str(model) in DEFAULT_MODELS:
        raise CheckpointError(f"the default {model} model {text!r} is not installed "
                              f"(shipped: {known})")
    nearest = difflib.get_close_matches(text, [*DEFAULT_MODELS, *shipped_models()], n=1)
    hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
    raise CheckpointError(
        f"model {text!r} is neither a kind ({', '.join(DEFAULT_MODELS)}), a shipped model "
        f"({known}) nor an existing path{hint}"
    )

"""Export: SavedModels in TensorFlow Serving's layout, with model cards."""

from kerasnas.export.model_card import build_model_card, render_markdown
from kerasnas.export.saved_model import (
    ExportInfo,
    ExportVerificationError,
    existing_versions,
    export_saved_model,
    load_exported,
)

__all__ = [
    "ExportInfo",
    "ExportVerificationError",
    "build_model_card",
    "existing_versions",
    "export_saved_model",
    "load_exported",
    "render_markdown",
]

"""Export: SavedModels in TensorFlow Serving's layout, verified, with model cards."""

from kerasnas.export.formats import FORMATS, ExportFormatError
from kerasnas.export.model_card import build_model_card, render_markdown
from kerasnas.export.precision import mixed_precision_copy
from kerasnas.export.saved_model import (
    ExportInfo,
    existing_versions,
    export_saved_model,
    load_exported,
    serving_latency,
)
from kerasnas.export.verify import ExportVerificationError
from kerasnas.export.warmup import read_warmup_requests

__all__ = [
    "FORMATS",
    "ExportFormatError",
    "ExportInfo",
    "ExportVerificationError",
    "build_model_card",
    "existing_versions",
    "export_saved_model",
    "load_exported",
    "mixed_precision_copy",
    "read_warmup_requests",
    "render_markdown",
    "serving_latency",
]

"""Export: SavedModels in TensorFlow Serving's layout, verified, with model cards."""

from kerasnas import _lazy

# Names load on first use (PEP 562).
__getattr__, __dir__ = _lazy.attach(
    __name__,
    {
        "FORMATS": "kerasnas.export.formats",
        "ExportFormatError": "kerasnas.export.formats",
        "build_model_card": "kerasnas.export.model_card",
        "render_markdown": "kerasnas.export.model_card",
        "mixed_precision_copy": "kerasnas.export.precision",
        **dict.fromkeys(
            (
                "ExportInfo",
                "existing_versions",
                "export_saved_model",
                "load_exported",
                "serving_latency",
            ),
            "kerasnas.export.saved_model",
        ),
        "ExportVerificationError": "kerasnas.export.verify",
        "read_warmup_requests": "kerasnas.export.warmup",
    },
)

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

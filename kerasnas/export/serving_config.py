"""TensorFlow Serving configuration beside an export: models.config, batching, the command.

`write_serving_config` writes, in the model base path (beside the version
folders, which TF Serving alone reads as versions):

- `models.config`: a `ModelServerConfig` in protobuf text format (model
  name, base path, platform, version policy), for `--model_config_file`;
- `batching_parameters.txt`: `BatchingParameters` for
  `--batching_parameters_file`, chosen from the export's measured latency;
- `README.md`: the exact `tensorflow_model_server` command (and the Docker
  one) and why the batching settings are what they are.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

MODELS_CONFIG = "models.config"
BATCHING_FILE = "batching_parameters.txt"
README_FILE = "README.md"

#: Batch sizes used without a latency measurement.
DEFAULT_BATCH_SIZE = 32
DEFAULT_TIMEOUT_MICROS = 1000


def _check_policy(version_policy) -> str:
    """The `model_version_policy` block for a policy given as text or versions."""
    if version_policy == "latest":
        return "latest { num_versions: 1 }"
    if version_policy == "all":
        return "all {}"
    versions = [version_policy] if isinstance(version_policy, int) else version_policy
    if (
        isinstance(versions, (list, tuple))
        and versions
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in versions)
    ):
        return "specific { " + " ".join(f"versions: {int(v)}" for v in versions) + " }"
    raise ValueError(
        "`version_policy` must be 'latest', 'all', a version number or a list of them. "
        f"Received: version_policy={version_policy!r}"
    )


def models_config(name: str, base_path: str, version_policy="latest") -> str:
    """The text of a `models.config` (a `ModelServerConfig` with one model).

    Example:

    ```python
    from kerasnas.export.serving_config import models_config
    print(models_config("mnist1d", "/srv/exports/mnist1d"))
    ```
    """
    policy = _check_policy(version_policy)
    escaped = base_path.replace("\\", "\\\\").replace('"', '\\"')
    return (
        "# TensorFlow Serving model config, written by kerasnas: --model_config_file\n"
        "model_config_list {\n"
        "  config {\n"
        f'    name: "{name}"\n'
        f'    base_path: "{escaped}"\n'
        '    model_platform: "tensorflow"\n'
        f"    model_version_policy {{ {policy} }}\n"
        "  }\n"
        "}\n"
    )


def batching_settings(latency: Sequence[dict], num_threads: int | None = None) -> dict:
    """Chooses TF Serving batching parameters from a measured latency table.

    The rule:

    - `max_batch_size`: the smallest measured batch size whose throughput
      (samples per second) reaches 80% of the best measured throughput;
      larger batches add latency for little gain.
    - `batch_timeout_micros`: half the median latency of that batch,
      between 100 µs and 10 ms: a request waits at most about half a
      batch's run time for others to join it.
    - `num_batch_threads`: the CPU cores of this machine; `max_enqueued_batches`
      the same (a short queue, for online serving).
    - `allowed_batch_sizes`: the measured sizes up to `max_batch_size`
      (batches are padded to the next one).

    Args:
        latency: rows `{"batch_size", "median_ms"}` (the export's `latency`).
        num_threads: batch threads; defaults to `os.cpu_count()`.

    Returns:
        A dict of the settings and a `reason` string.
    """
    threads = int(num_threads or os.cpu_count() or 1)
    rows = sorted(
        (r for r in latency if r.get("median_ms") and r["median_ms"] > 0),
        key=lambda r: r["batch_size"],
    )
    if not rows:
        return {
            "max_batch_size": DEFAULT_BATCH_SIZE,
            "batch_timeout_micros": DEFAULT_TIMEOUT_MICROS,
            "max_enqueued_batches": threads,
            "num_batch_threads": threads,
            "allowed_batch_sizes": [DEFAULT_BATCH_SIZE],
            "reason": "no latency was measured (export with measure_latency=True): defaults",
        }
    throughput = {r["batch_size"]: r["batch_size"] / r["median_ms"] * 1000.0 for r in rows}
    best = max(throughput.values())
    chosen = next(r for r in rows if throughput[r["batch_size"]] >= 0.8 * best)
    size = int(chosen["batch_size"])
    timeout = int(min(10_000, max(100, round(chosen["median_ms"] * 1000 / 2))))
    reason = (
        "measured median latency "
        + ", ".join(f"{r['median_ms']:.2f} ms at batch {r['batch_size']}" for r in rows)
        + f"; batch {size} reaches {throughput[size]:,.0f} samples/s, "
        f"{throughput[size] / best:.0%} of the best measured ({best:,.0f}/s)"
    )
    return {
        "max_batch_size": size,
        "batch_timeout_micros": timeout,
        "max_enqueued_batches": threads,
        "num_batch_threads": threads,
        "allowed_batch_sizes": [int(r["batch_size"]) for r in rows if r["batch_size"] <= size],
        "reason": reason,
    }


def batching_parameters(settings: dict) -> str:
    """The text of a `batching_parameters.txt` (a `BatchingParameters` message)."""
    lines = [
        "# TensorFlow Serving batching, written by kerasnas: --batching_parameters_file",
        f"# {settings['reason']}",
        f"max_batch_size {{ value: {settings['max_batch_size']} }}",
        f"batch_timeout_micros {{ value: {settings['batch_timeout_micros']} }}",
        f"max_enqueued_batches {{ value: {settings['max_enqueued_batches']} }}",
        f"num_batch_threads {{ value: {settings['num_batch_threads']} }}",
    ]
    lines += [f"allowed_batch_sizes: {size}" for size in settings["allowed_batch_sizes"]]
    lines.append("pad_variable_length_inputs: false")
    return "\n".join(lines) + "\n"


def server_command(base: pathlib.Path) -> str:
    """The `tensorflow_model_server` command serving the export with its config files."""
    base = base.resolve()
    return (
        "tensorflow_model_server --port=8500 --rest_api_port=8501 \\\n"
        f"  --model_config_file={base / MODELS_CONFIG} \\\n"
        "  --enable_batching=true \\\n"
        f"  --batching_parameters_file={base / BATCHING_FILE}"
    )


def docker_command(base: pathlib.Path, name: str) -> str:
    """The same server in TF Serving's Docker image (the base path mounted at /models/NAME)."""
    return (
        "docker run -p 8500:8500 -p 8501:8501 \\\n"
        f'  --mount type=bind,source="{base.resolve()}",target=/models/{name} \\\n'
        f"  -t tensorflow/serving:latest \\\n"
        f"  --model_name={name} --model_base_path=/models/{name} \\\n"
        f"  --enable_batching=true --batching_parameters_file=/models/{name}/{BATCHING_FILE}"
    )


def write_serving_config(
    base_path: str | os.PathLike,
    latency: Sequence[dict] = (),
    version_policy="latest",
    name: str | None = None,
) -> dict:
    """Writes `models.config`, `batching_parameters.txt` and `README.md` in the base path.

    Example:

    ```python
    from kerasnas.export.serving_config import write_serving_config
    paths = write_serving_config(
        "exports/doc_example", [{"batch_size": 1, "median_ms": 0.5},
                                {"batch_size": 32, "median_ms": 2.0}])
    print(paths["readme"].read_text())
    ```

    Args:
        base_path: the model base path (its folder name is the model name).
        latency: the export's measured latency rows (empty: default batching).
        version_policy: `"latest"` (serve the highest version), `"all"`, a
            version number or a list of them.
        name: the model name; defaults to the base path's folder name.

    Returns:
        `{"models_config", "batching", "readme"}` paths and the `settings`.

    Raises:
        ValueError: for an unknown version policy.
    """
    base = pathlib.Path(base_path)
    name = name or base.resolve().name
    config_text = models_config(name, str(base.resolve()), version_policy)
    settings = batching_settings(latency)
    base.mkdir(parents=True, exist_ok=True)
    paths = {
        "models_config": base / MODELS_CONFIG,
        "batching": base / BATCHING_FILE,
        "readme": base / README_FILE,
    }
    paths["models_config"].write_text(config_text, encoding="utf-8")
    paths["batching"].write_text(batching_parameters(settings), encoding="utf-8")
    readme = [
        f"# Serving `{name}` with TensorFlow Serving",
        "",
        "Written by kerasnas beside the version folders (TF Serving reads only the",
        "numbered folders as versions).",
        "",
        "## With the `tensorflow_model_server` binary",
        "",
        "```bash",
        server_command(base),
        "```",
        "",
        f"`{MODELS_CONFIG}` names the model `{name}`, its base path on this machine and",
        f"the version policy ({_check_policy(version_policy)}).",
        "",
        "## With Docker",
        "",
        "```bash",
        docker_command(base, name),
        "```",
        "",
        "(Add `--gpus all` and use `tensorflow/serving:latest-gpu` on a GPU host.)",
        "",
        "## Batching",
        "",
        f"`{BATCHING_FILE}`: max_batch_size {settings['max_batch_size']}, "
        f"batch_timeout_micros {settings['batch_timeout_micros']}, "
        f"num_batch_threads {settings['num_batch_threads']}, "
        f"max_enqueued_batches {settings['max_enqueued_batches']}, "
        f"allowed_batch_sizes {settings['allowed_batch_sizes']}.",
        "",
        f"Why: {settings['reason']}. The batch size is the smallest measured one reaching "
        "80% of the best measured throughput; the timeout is half its latency (100 µs to "
        "10 ms). Measure again on the serving machine and adjust.",
        "",
        "## Query",
        "",
        "```bash",
        f"curl -X POST -d @{base.resolve()}/<version>/assets.extra/rest_request.json \\",
        f"  http://localhost:8501/v1/models/{name}:predict",
        "```",
        "",
    ]
    paths["readme"].write_text("\n".join(readme), encoding="utf-8")
    return dict(paths, settings=settings)

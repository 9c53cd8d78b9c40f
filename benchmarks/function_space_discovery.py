"""What discovering a FunctionSpace costs: symbolic runs of the function and seconds.

Two functions: the KerasTuner-style hypermodel of tutorials/09_function_space.py
(a loop of up to 3 conv layers, a conditional head, a float) and a 10-layer
dense loop (two choices per layer). Each space is created `--repeats` times;
the median time is reported with the number of runs of the function.

    python benchmarks/function_space_discovery.py --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def tutorial_build(hp, inputs):
    import keras

    x = inputs
    for i in range(hp.int("conv_layers", 1, 3)):
        x = keras.layers.Conv1D(
            hp.choice(f"filters_{i}", [16, 32, 64]),
            hp.choice(f"kernel_{i}", [3, 5]),
            padding="same",
            activation="relu",
        )(x)
        if hp.boolean(f"pool_{i}"):
            x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    if hp.choice("head", ["plain", "mlp"]) == "mlp":
        with hp.conditional("head", "mlp"):
            x = keras.layers.Dense(hp.choice("units", [32, 64]), activation="relu")(x)
    return keras.layers.Dropout(hp.float("dropout", 0.0, 0.4, step=0.2))(x)


def deep_build(hp, inputs):
    import keras

    x = keras.layers.Flatten()(inputs)
    for i in range(hp.int("layers", 1, 10)):
        x = keras.layers.Dense(
            hp.choice(f"units_{i}", [8, 16, 32, 64]),
            activation=hp.choice(f"act_{i}", ["relu", "tanh"]),
        )(x)
    return x


def main() -> None:
    import kerasnas

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for label, build, shape in (
        ("tutorial hypermodel", tutorial_build, (40, 1)),
        ("10-layer dense loop", deep_build, (8,)),
    ):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            space = kerasnas.spaces.FunctionSpace(build, input_shape=shape)
            times.append(time.perf_counter() - start)
        print(
            f"{label}: {len(space.decisions)} decisions, {space.size():,} architectures, "
            f"{space.traces} runs of the function, median {statistics.median(times):.2f} s "
            f"(min {min(times):.2f} s) over {args.repeats}"
        )


if __name__ == "__main__":
    main()

"""Packaging for kerasnas.

The core install depends on TensorFlow and Keras 3 only. TF-Agents (the RL
controller) pins `typing-extensions==4.5.0` and Keras 2 through `tf-keras`,
so it lives in the `rl` extra; Ray lives in the `ray` extra. The README's
install command asks for `[all]`, which is every extra CI tests.
"""

import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(
    r'__version__ = "([^"]+)"', (HERE / "kerasnas" / "version.py").read_text()
).group(1)

CORE = [
    "tensorflow==2.21.*",
    "keras>=3.15,<4",
    "numpy>=1.26,<2.4",
    "tensorflow-datasets>=4.9",
    "mnist1d>=0.0.2",
    "matplotlib>=3.8",
    "tensorboard>=2.21",
    "tqdm>=4.60",  # progress bar (already required by tensorflow-datasets)
    "psutil>=5.9",  # worker memory limits (already required by tensorflow-datasets)
]
EXTRAS = {
    # TF-Agents needs legacy Keras 2 (tf-keras) and TF Probability.
    "rl": [
        "tf-agents==0.19.0",
        "tf-keras==2.21.*",
        "tensorflow-probability==0.23.*",
    ],
    "ray": ["ray>=2.60,<3"],
    "viz": ["pydot>=3"],
    "serving": ["tensorflow-serving-api==2.21.*"],
    "dev": ["pytest>=8", "pytest-xdist>=3.5", "ruff>=0.6"],
}
# Everything CI tests. ONNX stays outside: tf2onnx needs a newer
# typing-extensions than TF-Agents' exact pin, so it cannot share an
# environment with the `rl` extra.
EXTRAS["all"] = sorted({req for reqs in EXTRAS.values() for req in reqs})
EXTRAS["onnx"] = ["onnx>=1.16", "tf2onnx>=1.16", "onnxruntime>=1.18"]
# The tools users would pick instead, for benchmarks/peers_mnist1d.py only (not in
# `all`: kerasnas never imports them). keras-tuner[bayesian] adds scikit-learn.
EXTRAS["bench"] = ["keras-tuner[bayesian]==1.4.*", "autokeras==3.0.*"]

setup(
    name="kerasnas",
    version=VERSION,
    description="Neural architecture search for Keras 3 that emits deployable SavedModels.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["kerasnas", "kerasnas.*"]),
    package_data={"kerasnas": ["tables/*.json", "tables/*.md", "tables/*_LICENSE"]},
    install_requires=CORE,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["kerasnas=kerasnas.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)

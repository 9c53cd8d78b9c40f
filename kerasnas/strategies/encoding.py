"""Fixed-length vectors of architectures, for predictors: one-hot and path encodings."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

from kerasnas.spaces.cells import EdgeCellSpace
from kerasnas.spaces.space import SearchSpace

ENCODINGS = ("auto", "one_hot", "path")


class OneHotEncoding:
    """One-hot of every flat decision step; an inactive decision's steps are all zero.

    Example:

    ```python
    import kerasnas
    from kerasnas.strategies.encoding import OneHotEncoding
    space = kerasnas.spaces.nas_bench_macro()
    encoding = OneHotEncoding(space)
    encoding(space.sample(0)).shape  # (24,): 8 layers x 3 blocks
    ```

    Args:
        space: the search space.
        skip: names of decisions to leave out (another encoding covers them).
    """

    def __init__(self, space: SearchSpace, skip: frozenset = frozenset()):
        self.layout = []
        offset = 0
        for decision in space.decisions:
            if decision.name in skip:
                continue
            sizes = [step.num_choices for step in decision.flat_choices()]
            starts = offset + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
            self.layout.append((decision, starts))
            offset += sum(sizes)
        self.size = offset

    def __call__(self, architecture: Mapping[str, Any]) -> np.ndarray:
        vector = np.zeros(self.size, np.float32)
        for decision, starts in self.layout:
            if decision.name in architecture:
                indices = decision.encode_flat(architecture[decision.name])
                vector[starts + np.asarray(indices, int)] = 1.0
        return vector


class PathEncoding:
    """Counts of input-to-output paths by their sequence of operations (BANANAS).

    For `EdgeCellSpace` cells: every chain of edges from node 0 to the last
    node whose operations are all not `"none"` adds 1 to the feature of its
    operation sequence (White et al., 2021). Any other decision of the
    space (e.g. training choices) is one-hot encoded after the paths.

    Example:

    ```python
    import kerasnas
    from kerasnas.strategies.encoding import PathEncoding
    space = kerasnas.spaces.nas_bench_201()
    PathEncoding(space).size  # 4 + 16 + 64 paths over 4 operations
    ```

    Args:
        space: an `EdgeCellSpace` (possibly with extra decisions).

    Raises:
        ValueError: for another kind of space.
    """

    def __init__(self, space: SearchSpace):
        if not isinstance(space, EdgeCellSpace):
            raise ValueError(
                "The path encoding is defined for edge cell spaces (cell, nas_bench_201). "
                f"Received: space={space!r}"
            )
        n = space.num_nodes
        self.ops = [op for op in space.operations if op != "none"]
        self.index = {op: i for i, op in enumerate(self.ops)}
        # Every node chain 0 = v0 < v1 < ... < vL = n-1, as lists of edge names.
        self.chains = []
        for length in range(1, n):
            for middle in itertools.combinations(range(1, n - 1), length - 1):
                nodes = (0, *middle, n - 1)
                self.chains.append([space.edge_name(nodes[i + 1], nodes[i]) for i in range(length)])
        k = len(self.ops)
        self.offsets = {length: sum(k**m for m in range(1, length)) for length in range(1, n)}
        self.path_size = sum(k**m for m in range(1, n))
        edges = {space.edge_name(i, j) for i in range(1, n) for j in range(i)}
        self.rest = OneHotEncoding(space, skip=frozenset(edges))
        self.size = self.path_size + self.rest.size

    def __call__(self, architecture: Mapping[str, Any]) -> np.ndarray:
        vector = np.zeros(self.size, np.float32)
        k = len(self.ops)
        for chain in self.chains:
            ops = [architecture[edge] for edge in chain]
            if "none" in ops:
                continue
            code = 0
            for op in ops:
                code = code * k + self.index[op]
            vector[self.offsets[len(chain)] + code] += 1.0
        vector[self.path_size :] = self.rest(architecture)
        return vector


def get_encoding(space: SearchSpace, encoding: str = "auto"):
    """Returns an encoding of `space`: `"path"` for edge cells, else `"one_hot"` under "auto".

    Raises:
        ValueError: for an unknown name, or `"path"` on a space without edge cells.
    """
    if encoding not in ENCODINGS:
        raise ValueError(
            f"`encoding` must be one of {list(ENCODINGS)}. Received: encoding={encoding!r}"
        )
    if encoding == "path" or (encoding == "auto" and isinstance(space, EdgeCellSpace)):
        return PathEncoding(space)
    return OneHotEncoding(space)

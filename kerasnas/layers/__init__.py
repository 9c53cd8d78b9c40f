"""Operation and block code below both the spaces and the model builder.

Spaces name operations and describe how to build their layers; the builder
turns a space and an architecture into a Keras model; supernets mix the
same operations. All three import layer code from here, and this package
imports neither of them.

- `ops`: the chain operations (`conv`, `dense`, `maxpool`, ...), their
  registry (`OPERATIONS`, extended by `kerasnas.ops.register`) and shape helpers.
- `cell_ops`: the operations of cell spaces (NAS-Bench-201, DARTS).
- `merge`: joining tensors of different shapes (skips and branches).
"""

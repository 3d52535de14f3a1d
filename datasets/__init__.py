"""Data: real sample images that ship in packages, data set loaders, and the built-in benchmark.

The lowest layer: imports nothing from `segmentation`, `tools`, `agent` or the interfaces.
"""

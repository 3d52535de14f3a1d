"""Segmentation core: frozen SAM-family backbones, preprocessing, embedding cache, the trained decoder side (LAD) and
test-time intervention (TCI).

Imports nothing from `tools`, `agent` or the interfaces: data flows one way.
"""

import warnings

# The vendored TinyViT files (and transformers) import timm's deprecated paths; the warning is theirs, not the user's.
warnings.filterwarnings("ignore", message=r"Importing from timm\.", category=FutureWarning)

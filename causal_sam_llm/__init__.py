"""Causal-SAM-LLM: a frozen SAM-family segmenter, language-disentangled style, test-time causal intervention, and a
local LLM agent for abdominal and brain CT/MR.

The repository's design-card folders (`segmentation/`, `datasets/`, `tools/`, `agent/`, ...) are installed as
subpackages of this one import package so that no generic top-level names land in site-packages.
"""

__version__ = "0.1.0"

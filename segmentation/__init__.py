"""Segmentation core: frozen SAM-family backbones, preprocessing, embedding cache, and (later) the trained decoder side.

Imports nothing from `tools`, `agent` or the interfaces: data flows one way.
"""

"""The built-in multi-domain benchmark: procedural phantoms whose SAME anatomy is rendered in several styles."""

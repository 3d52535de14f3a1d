"""The Textual terminal chat: an interface over `Assistant`; it holds no business logic."""

"""Renderers of the session summary for the municipality."""

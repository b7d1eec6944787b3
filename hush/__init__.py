"""Hush: a streaming, real-time denoising daemon for 1-D sensor signals."""

__version__ = "0.1.0"

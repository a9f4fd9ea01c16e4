"""Rollcall: know exactly who will receive a message to big lists, and why."""

__version__ = "0.1.0"

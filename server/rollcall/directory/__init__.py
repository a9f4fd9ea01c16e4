"""Adapters to outside directories; each returns Rollcall's own types from `rollcall.core.model`."""

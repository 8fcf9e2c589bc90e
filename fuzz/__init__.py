"""Mutation fuzzing of the readers, normaliser and sanitizer (see fuzz/README.md)."""

"""Use cases: what combines the core with files, rendering and storage (certify, audit pack,
batch)."""

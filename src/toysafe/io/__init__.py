"""Readers and writers of files: profiles, lab reports, labs, listings, eFiling, KB, keys."""

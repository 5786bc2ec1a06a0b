"""Certificates: the party, the CPC/GCC document, its seal, the eFiling record and labels."""

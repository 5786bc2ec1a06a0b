"""The seller's catalog: profile versions, material changes, what a status means, what is due."""

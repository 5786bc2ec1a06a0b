"""Lab evidence: reports, the lab registry, units, verification and test plans."""

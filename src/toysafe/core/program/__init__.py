"""The marketplace program (contract section 8): policy, requests, triggers, enforcement."""

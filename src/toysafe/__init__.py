"""toysafe: U.S. toy-safety compliance, explained."""

__version__ = "0.1.0"

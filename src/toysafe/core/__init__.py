"""Pure functional core: typed models and the rules engine. No I/O, no frameworks."""

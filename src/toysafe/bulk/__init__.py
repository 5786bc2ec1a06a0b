"""Bulk assessment: the knowledge base compiled into one set-based plan (ibis), run on DuckDB
or Spark. An adapter around the core: the per-item engine (``toysafe.core.law.engine``) stays the
source of truth and the explainer; this package must agree with it on every product.
"""

"""``toysafe program simulate``: a synthetic marketplace run day by day through the real program.

``actors`` holds the synthetic actors' pure decisions (seeded, per entity), ``calibration`` the
figures they use with their sources, ``catalog`` the products and their documents, ``engine``
the day loop that drives the store's program code, ``metrics`` what is measured.
"""

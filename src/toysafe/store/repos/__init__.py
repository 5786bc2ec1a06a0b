"""One repository module per kind of record. A repository reads and writes its records inside a
session it is given; transactions, events and the recomputation of product state are composed
by the unit of work, ``toysafe.store.workspace.Workspace``."""

"""The web pages: server-rendered Jinja2, enhanced by htmx, usable without JavaScript.

Sellers keep their catalog, build product profiles with a live assessment, upload lab reports,
issue certificates and download audit packs; labs see the products shared with them and upload
reports; reviewers read the catalogs enrolled with them. Every state-changing form carries the
session's CSRF token; every user mistake comes back as a page that names the field.

One module per area, each with its own router: ``auth`` (sign in and out), ``dashboard`` (the
catalog and the lab inbox), ``wizard`` (the product wizard and its live assessment), ``products``
(the product page, certify, share), ``downloads`` (certificates, audit packs) and ``uploads``
(lab reports), ``program`` (the seller's program console), ``tic`` (the TIC console) and
``review`` (the reviewer and marketplace admin consoles); ``common`` holds what they share
(rendering, CSRF, flash, error pages). They are
included in this order, so ``/products/new`` matches before ``/products/{sku}``.
"""

from __future__ import annotations

from fastapi import APIRouter

from toysafe.web.pages import (
    auth,
    dashboard,
    downloads,
    products,
    program,
    review,
    tic,
    uploads,
    wizard,
)

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(dashboard.router)
router.include_router(wizard.router)
router.include_router(products.router)
router.include_router(downloads.router)
router.include_router(uploads.router)
router.include_router(program.router)
router.include_router(tic.router)
router.include_router(review.router)

"""The ASGI entry point for uvicorn: the app over the workspace in TOYSAFE_HOME."""

from __future__ import annotations

import os

from toysafe.io.keys import workspace
from toysafe.store.db import open_store
from toysafe.web.app import create_app

app = create_app(
    open_store(), workspace(), secure_cookies=os.environ.get("TOYSAFE_SECURE_COOKIES", "1") == "1"
)

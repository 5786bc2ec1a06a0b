"""The ASGI entry point for uvicorn: the app over the workspace in TOYSAFE_HOME."""

from __future__ import annotations

import os

from toysafe.io.keys import workspace
from toysafe.store.db import open_store
from toysafe.store.program import scheduler
from toysafe.web.app import create_app

store = open_store()
app = create_app(
    store, workspace(), secure_cookies=os.environ.get("TOYSAFE_SECURE_COOKIES", "1") == "1"
)
# The program's daily sweep, once a day at the configured hour (one worker claims each day).
scheduler.start(store)

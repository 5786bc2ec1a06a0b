"""The ASGI entry point for uvicorn: the app over the workspace in TOYSAFE_HOME."""

from __future__ import annotations

from toysafe.settings import settings
from toysafe.store.db import open_store
from toysafe.web.app import create_app

_config = settings()
app = create_app(open_store(), _config.workspace(), secure_cookies=_config.secure_cookies)

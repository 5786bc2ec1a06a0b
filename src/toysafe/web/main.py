"""The ASGI entry point for uvicorn: the app over the workspace in TOYSAFE_HOME."""

from __future__ import annotations

from toysafe.render import charts
from toysafe.settings import settings
from toysafe.store.db import open_store
from toysafe.store.program import scheduler
from toysafe.web.app import create_app

_config = settings()
store = open_store()
app = create_app(store, _config.workspace(), secure_cookies=_config.secure_cookies)
# The program's daily sweep, once a day at the configured hour (one worker claims each day).
scheduler.start(store)
# matplotlib's import and first draw off the request path: the first chart is a plain draw.
charts.warm_up_in_background()

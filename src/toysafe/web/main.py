"""The ASGI entry point for uvicorn: the app over the workspace in TOYSAFE_HOME."""

from __future__ import annotations

from toysafe.settings import settings
from toysafe.store.db import open_store
from toysafe.store.program import scheduler
from toysafe.web.app import create_app
from toysafe.web.serving import warm_up

_config = settings()
store = open_store()
app = create_app(store, _config.workspace(), secure_cookies=_config.secure_cookies)
# The program's daily sweep, once a day at the configured hour (one worker claims each day).
scheduler.start(store)
# What every process pays once is paid here, before this worker takes a request: loading the
# knowledge base, pint's unit registry and matplotlib cost the first requests about 1.2 s of
# CPU a worker, and in a soak the first 10 seconds ran at p99 2.2 s against 60-110 ms after.
warm_up()

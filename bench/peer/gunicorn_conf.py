"""The command line sets workers and address; this only tells the bench when each worker has
loaded the application, so the load starts with both serving."""

import os
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    Path(os.environ["PEER_READY_DIR"], str(worker.pid)).touch()

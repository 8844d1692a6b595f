"""The secret key that signs sessions, CSRF tokens and response keys.

A key known from the source would let anyone forge a session of a deployed copy, so
there is no default: without ``SECRET_KEY`` in the environment, the first process
generates a random key into the instance folder (mode 0600) and every later process
of the same installation reads it. Several machines must share one ``SECRET_KEY``
given in the environment instead.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)
FILE_NAME = "secret_key"


def instance_secret_key(instance_path: str | Path) -> str:
    """Read the generated key of this installation, creating it on first use.

    Creation is atomic (a private temporary file hard-linked into place), so processes
    starting together all end up with the one key that won.
    """
    folder = Path(instance_path)
    path = folder / FILE_NAME
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
            log.warning(
                "SECRET_KEY is not set: generated a random key into %s (set SECRET_KEY to "
                "share one key between machines)",
                path,
            )
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            temporary.unlink()
    else:
        log.info("SECRET_KEY is not set: using the generated key in %s", path)
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key: delete it to generate a new one")
    return key

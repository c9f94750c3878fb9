"""IPMS server: Litestar API, Piccolo tables and the rules between them."""

import os

# Piccolo's CLI and migration machinery find the engine through this module.
os.environ.setdefault("PICCOLO_CONF", "backend.piccolo_conf")

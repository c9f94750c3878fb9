"""Live updates: small events about committed changes, fanned out to the screens that show those records.

`services` is what the rest of the code uses (`publish`, `subscribe`); `transport` carries events between workers
on Litestar Channels and is the only part that knows Litestar.
"""

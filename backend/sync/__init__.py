"""Offline field kit sync: scoped pulls with tombstones, exactly-once pushes (see `backend.sync.services`)."""

"""Web push: VAPID keys, subscriptions, delivery rows and the worker that sends them (aes128gcm, RFC 8291/8292).

A library: it imports neither `backend/` nor `pwa/`; users and devices are referenced lazily by table name.
"""

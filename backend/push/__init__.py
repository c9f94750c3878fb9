"""Web push in the app: the public key, browser subscriptions on device records, preferences, the worker."""

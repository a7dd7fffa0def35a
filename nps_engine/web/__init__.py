"""The ASGI web app: survey pages, unsubscribe, health, and the vendors' webhooks (``app.py``)."""

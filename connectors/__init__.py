"""The outside world: Shopify, Zendesk and SMTP adapters, the HTTP defaults and the retry policy.

Adapters turn vendor JSON into ``nps_engine.records`` at their boundary and raise only errors from
:mod:`connectors.errors`. Nothing here imports ``jobs``.
"""

"""Loopback simulator of the Zendesk Support API (see :mod:`sandbox.zendesk.simulator`)."""

from sandbox.zendesk.account import ZendeskOptions
from sandbox.zendesk.simulator import ZendeskSimulator, credentials
from sandbox.zendesk.webhooks import sign

__all__ = ["ZendeskOptions", "ZendeskSimulator", "credentials", "sign"]

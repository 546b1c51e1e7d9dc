"""A fake SMS platform speaking the Aliyun (RPC, ``SendBatchSms``) and Tencent Cloud (TC3, ``SendSms``)
APIs, for the demo, the tests and the benchmark.

It checks every request's signature as the vendors do, renders the message from the registered
template (the portal's SmsTemplate rows), records each accepted message, answers the vendors' send
detail queries, posts delivery receipts back in each vendor's format, and injects latency, 5xx errors
and timeouts on request. ``GET /_fake/stats`` and ``GET /_fake/messages`` show what it received;
``POST /_fake/faults`` changes the faults while it runs.

``state`` holds what it received and the faults to inject, ``server`` the HTTP side, and ``aliyun`` and
``tencent`` each vendor's requests and receipts.
"""

from portal.dev.fakesms.server import serve
from portal.dev.fakesms.state import Credentials, Faults, State

__all__ = ["Credentials", "Faults", "State", "serve"]

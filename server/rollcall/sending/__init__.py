"""Tracked send: one message per recipient through the organisation's SMTP relay, and every
recipient's fate recorded. `model` and `replies`/`retry`/`tracking` are pure; `service` creates
sends from counts, `worker` drains the outbox (store/outbox.py) through `smtp`."""

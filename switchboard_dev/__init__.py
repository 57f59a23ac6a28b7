"""Switchboard's developer tooling: the local stack behind ``make run``, the embedded broker and
Postgres the tests and the bench start, the topic reader and the migrations command.

Nothing here is imported by a service at run time; the runtime library is :mod:`shared`.
"""

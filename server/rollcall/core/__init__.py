"""Rollcall's pure logic: entries, the list tree, findings and the count report.

The rule of this folder: pure logic, no I/O. Nothing here opens a socket, a file or a database,
reads the clock, starts a thread or sleeps; nothing here imports Flask or `rollcall.api`,
`rollcall.directory` or `rollcall.store`. Functions take plain values (the small types in
`model.py`) and return plain values, so every rule can be tested with hand-written data.
The code that talks to a directory, keeps time and runs requests concurrently lives outside,
in `rollcall.counting`, and hands what it fetched to `report.build_report`, which returns the
typed report of `report_types.py`.
"""

"""A frozen copy of trace.py and audit/record.py as they were before the fast serialisation
(commit 917dc98): the reference the byte-identity tests compare the new code with. Do not edit."""

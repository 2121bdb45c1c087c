"""Attachments (SPEC 11): what may be uploaded, how it is checked and cleaned, and who
may see it. Storage keeps the rows (``storage/attachments.py``); the server streams
the bytes in and out (``server/uploads.py``, ``server/routes/attachments.py``)."""

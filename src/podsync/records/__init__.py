"""podsync.records: signed records — their bytes, their signatures, and the book
of every record a node has held (see :mod:`.format`)."""

"""Import conversations from other apps' exports and our own.

stream.py reads a (possibly 100 MB) file one conversation at a time; one module per format
turns a conversation of that format into an `ImportedConversation` (records.py); records.py
saves each in its own transaction; jobs.py runs the whole file in a background thread and keeps
the progress record the account page polls.
"""

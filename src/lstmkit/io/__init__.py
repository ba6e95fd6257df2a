"""Files in and out, for every layer above ``nn``: atomic writes, UTF-8 text with errors that name the file,
the one-page HTML report and the PNG figure helpers.

Nothing here imports torch, so the command line can use it while staying fast.
"""

"""The document flow's first stages: read inputs (files, records, URLs), decode, clean
(HTML or text copied off a page) and give each document its metadata.
"""

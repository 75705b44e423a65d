"""The story flow: near-duplicates, agenda issues, perspectives, the cited summary, the
timeline, and the assembly of a ``Briefing`` from annotated documents.
"""

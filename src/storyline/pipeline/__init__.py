"""The flows wired together: documents read -> cleaned -> annotated -> stored, stories
briefed from inputs or from the store; the one executor seam for per-document work.
"""

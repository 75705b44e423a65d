"""The annotate stage: one NLP pass per document and the annotators that read it (sentences,
entities, temporal expressions, quotes, forecasts, events); the sentence-embedding model.
"""

"""Render a ``Briefing``: JSON, Markdown and the self-contained HTML report.
"""

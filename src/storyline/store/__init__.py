"""Storage behind a narrow, backend-neutral interface (SQLite embedded by default).
"""

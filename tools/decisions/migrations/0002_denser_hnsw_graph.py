# The same HNSW graph as memories (memory.models.HNSW_M): see memory 0004.

import pgvector.django.indexes
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("decisions", "0001_initial"),
    ]

    operations = [
        RemoveIndexConcurrently(model_name="decision", name="decision_embedding_hnsw"),
        AddIndexConcurrently(
            model_name="decision",
            index=pgvector.django.indexes.HnswIndex(
                ef_construction=200,
                fields=["embedding"],
                m=24,
                name="decision_embedding_hnsw",
                opclasses=["vector_cosine_ops"],
            ),
        ),
    ]

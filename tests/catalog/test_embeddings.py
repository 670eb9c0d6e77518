import numpy as np
import pytest

from services.catalog.embeddings import DIMENSIONS, Embedder


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(threads=1)


def test_vectors_are_unit_length_and_deterministic(embedder):
    texts = ["Insulated travel mug", "Trail running shoe", ""]
    first = embedder.embed(texts)
    second = embedder.embed(list(reversed(texts)))[::-1]
    assert first.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    # Padding to the longest text of a batch must not change a text's vector.
    assert np.allclose(first, second, atol=1e-5)


def test_a_need_in_other_words_is_nearest_to_the_right_product(embedder):
    products = [
        "Insulated stainless steel travel mug that keeps drinks hot for six hours",
        "Wireless over-ear headphones with active noise cancelling",
        "Lightweight neutral running shoe with a breathable mesh upper",
        "Paperback science fiction novel about a generation ship",
    ]
    query = embedder.embed_one("something to keep my coffee hot on the go")
    scores = embedder.embed(products) @ query
    assert int(np.argmax(scores)) == 0
    assert scores[0] - np.sort(scores)[-2] > 0.1


def test_batches_larger_than_the_batch_size_keep_their_order(embedder):
    texts = [f"product number {i}" for i in range(70)]
    together = embedder.embed(texts)
    one_by_one = np.stack([embedder.embed_one(t) for t in texts[:3] + texts[-3:]])
    assert together.shape == (70, DIMENSIONS)
    assert np.allclose(together[[0, 1, 2, 67, 68, 69]], one_by_one, atol=1e-5)

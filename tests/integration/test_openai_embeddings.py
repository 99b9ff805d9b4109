"""POST /v1/embeddings: the real SmolLM2 on llama.cpp marked as embedding in the models file
(a test-grade embedding: mean-pooled states of a 135M chat model), and the refusals. The same
server checks /v1's logprobs on the real model (test_compat_real_model.check_logprobs)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest

from parley.engine.selection.choice import llamacpp_unavailable
from tests.conftest import ServerFactory, ServerProcess
from tests.helpers import new_account
from tests.integration.compat_support import bearer, create_key, register
from tests.integration.test_compat_real_model import check_logprobs

TEXTS = ["The cat sat on the mat.", "Quarterly revenue grew by four percent.", "Hello!"]


def embedding_server(
    server_factory: ServerFactory, data_dir: Path, tmp_path: Path
) -> ServerProcess:
    entry = {"id": "smollm2", "path": "smollm2", "engine": "llamacpp", "embeddings": "mean"}
    models = tmp_path / "models.json"
    models.write_text(json.dumps([entry]), encoding="utf-8")
    server = server_factory(
        data_dir=data_dir, models_file=str(models), max_new_tokens="8", kv_cache_gib="0.25"
    ).start(timeout_s=300)
    deadline = time.monotonic() + 300
    while httpx.get(f"{server.base_url}/api/v1/health").json()["status"] == "loading":
        assert time.monotonic() < deadline, "the model did not load"
        time.sleep(0.5)
    return server


@pytest.mark.model
@pytest.mark.skipif(llamacpp_unavailable() is not None, reason=str(llamacpp_unavailable()))
def test_embeddings_of_the_real_model(
    server_factory: ServerFactory, model_data_dir: Path, tmp_path: Path
) -> None:
    server = embedding_server(server_factory, model_data_dir, tmp_path)
    _, token = register(server)
    key = create_key(server, token)["key"]
    with openai.OpenAI(
        base_url=f"{server.base_url}/v1", api_key=key, max_retries=0, timeout=300
    ) as client:
        floats = client.embeddings.create(model="smollm2", input=TEXTS, encoding_format="float")
        # The SDK's default asks for base64 and decodes it.
        decoded = client.embeddings.create(model="smollm2", input=TEXTS)
        single = client.embeddings.create(model="smollm2", input=TEXTS[1])
        # The same model still chats (on llama.cpp, with log probabilities).
        check_logprobs(client, "smollm2")
    vectors = np.array([item.embedding for item in floats.data])
    assert [item.index for item in floats.data] == [0, 1, 2]
    assert vectors.shape == (3, 576)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.array_equal(np.array([item.embedding for item in decoded.data]), vectors)
    # The same text alone, or among others, gives the same vector (but for rounding: the
    # batch's shape changes it); different texts differ.
    assert np.allclose(single.data[0].embedding, vectors[1], atol=1e-6)
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)
    assert floats.usage.prompt_tokens == floats.usage.total_tokens > 3
    with httpx.Client(base_url=f"{server.base_url}/v1", headers=bearer(key), timeout=300) as http:
        raw = http.post(
            "/embeddings",
            json={"model": "smollm2", "input": TEXTS, "encoding_format": "base64"},
        ).json()
        packed = np.frombuffer(base64.b64decode(raw["data"][0]["embedding"]), dtype="<f4")
        assert np.array_equal(packed, vectors[0])
        # Token ids are an input too; the same input twice, the same vector.
        ids = http.post(
            "/embeddings", json={"model": "smollm2", "input": [[1, 2, 3], [1, 2, 3]]}
        ).json()
        assert ids["data"][0]["embedding"] == ids["data"][1]["embedding"]
        assert ids["usage"]["prompt_tokens"] == 6
        refusals = {
            "too_long": {"input": "word " * 3000},
            "bad_token": {"input": [[10**9]]},
            "empty_text": {"input": [""]},
            "dimensions": {"input": "x", "dimensions": 64},
        }
        for name, fields in refusals.items():
            response = http.post("/embeddings", json={"model": "smollm2", **fields})
            assert response.status_code == 400, (name, response.text)
            assert response.json()["error"]["message"], name
        too_long = http.post("/embeddings", json={"model": "smollm2", "input": "word " * 3000})
        assert too_long.json()["error"]["code"] == "context_length_exceeded"


def test_a_model_that_does_not_embed_is_a_clear_400(client: httpx.Client) -> None:
    account = new_account(client)
    response = client.post(
        "/v1/embeddings",
        json={"model": "scripted", "input": "hello"},
        headers=account.headers,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "model_cannot_embed"
    assert error["message"] == "The model 'scripted' does not support embeddings."
    empty = client.post(
        "/v1/embeddings", json={"model": "scripted", "input": []}, headers=account.headers
    )
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "input"

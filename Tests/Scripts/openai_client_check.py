"""Drives a `quarry serve` with the official OpenAI Python client and prints what it got back.

Usage: openai_client_check.py BASE_URL MODEL TOKEN_IDS_JSON TEXT...

Prints one JSON object: the model list and retrieved model, and the embeddings of TEXT... in
every encoding the client offers (float, base64), with `dimensions=128`, and of the token-id
lists. The calling test compares them with Quarry's own embedder. Installs `openai` with pip
when it is missing, so the check never skips.
"""

import base64
import json
import subprocess
import sys

try:
    import openai
except ModuleNotFoundError:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "openai"], check=True)
    import openai


def main() -> None:
    base_url, model, token_ids = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    texts = sys.argv[4:]
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)

    listed = client.models.list()
    retrieved = client.models.retrieve(model)
    floats = client.embeddings.create(model=model, input=texts, encoding_format="float")
    # The client asks for base64 and decodes it itself when no format is given; ask explicitly
    # too, to see the raw string.
    default = client.embeddings.create(model=model, input=texts)
    raw = client.embeddings.with_raw_response.create(model=model, input=texts, encoding_format="base64")
    raw_vectors = []
    for item in json.loads(raw.text)["data"]:
        data = base64.b64decode(item["embedding"])
        raw_vectors.append(list(memoryview(data).cast("f")))
    short = client.embeddings.create(model=model, input=texts, dimensions=128, encoding_format="float")
    tokens = client.embeddings.create(model=model, input=token_ids, encoding_format="float")
    single_tokens = client.embeddings.create(model=model, input=token_ids[0], encoding_format="float")

    print(
        json.dumps(
            {
                "models": [{"id": m.id, "object": m.object, "owned_by": m.owned_by, "created": m.created} for m in listed.data],
                "retrieved": retrieved.id,
                "model": floats.model,
                "prompt_tokens": floats.usage.prompt_tokens,
                "float": [item.embedding for item in floats.data],
                "default": [item.embedding for item in default.data],
                "base64": raw_vectors,
                "dimensions": [item.embedding for item in short.data],
                "tokens": [item.embedding for item in tokens.data],
                "single_tokens": [item.embedding for item in single_tokens.data],
            }
        )
    )


if __name__ == "__main__":
    main()

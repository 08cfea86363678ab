"""The one Settings object: RAGD_* environment variables and a .env file, each with a default."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.catalog import current
from models.embedder import EmbedBackend
from models.resolve import DEFAULT_EMBED_MODEL, DEFAULT_LLM_MODEL


class Settings(BaseSettings):
    """Configuration for ingest and serving. Defaults need no network."""

    model_config = SettingsConfigDict(env_prefix="RAGD_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where indexes and downloaded models live.")
    embed_model: str = Field(
        DEFAULT_EMBED_MODEL,
        description="sentence-transformers model: the packaged default, a folder or a hub id.",
    )
    llm_model: str = Field(
        DEFAULT_LLM_MODEL,
        description="GGUF model: the packaged default, a catalogue name (`ragd models list`), a "
        ".gguf path, or owner/repo:file.gguf. Unset: the model `ragd models use` chose, if any.",
    )
    embed_backend: EmbedBackend = Field(
        "onnx-int8",
        description="How embeddings are computed: onnx-int8 (the model exported to ONNX on first "
        "use, int8 weights: fastest on CPU, same SciFact nDCG@10 as fp32), onnx (fp32), or "
        "torch (fp32; use it on a GPU). The index records it: changing it means "
        "`ingest --rebuild`.",
    )
    embed_cache: Path | None = Field(
        None,
        description="Where ONNX exports of the embedding model are kept (made once, offline); "
        "default: $XDG_CACHE_HOME/ragd or ~/.cache/ragd, shared by every data dir.",
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="Device for embeddings; auto picks CUDA, then Metal (mps), then CPU."
    )
    llm_gpu: bool = Field(True, description="Offload all llama.cpp layers when the build can.")
    llm_context: int = Field(4096, ge=512, description="llama.cpp context window in tokens.")
    llm_threads: int | None = Field(None, ge=1, description="llama.cpp threads (default: all).")
    llm_temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    max_answer_tokens: int = Field(256, ge=16, description="Tokens reserved for the answer.")
    top_k: int = Field(6, ge=1, le=50, description="Chunks retrieved for an answer.")
    chunk_tokens: int = Field(
        256, ge=32, description="Largest chunk in embedder tokens (capped at the model's limit)."
    )
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by neighbouring chunks.")
    ann_min_vectors: int = Field(
        50_000,
        ge=1,
        description="Collections with at least this many chunks are searched through an "
        "approximate IVF index; smaller ones exactly. The writer keeps compressed IVF-PQ codes "
        "for them (see ann_codes); a collection written without codes builds an in-memory IVF "
        "in the background at the first search.",
    )
    ann_nprobe: int = Field(
        24,
        ge=1,
        description="IVF lists scanned per query at least (and an eighth of all lists): "
        "higher is slower and more exact.",
    )
    ann_codes: bool = Field(
        True,
        description="Large collections are searched through compressed IVF-PQ codes kept "
        "beside the segments, the candidates re-ranked by their exact vectors read from disk, "
        "so the float vectors are never held in memory. false: every vector is loaded into "
        "memory as before (about 1.5 GiB per million chunks at 384 dimensions).",
    )
    ann_probe_share: float = Field(
        0.33,
        gt=0,
        le=1,
        description="Share of the IVF lists scanned per query when searching compressed "
        "codes (recall@10 0.96 at 1M synthetic chunks with 0.33; 0.91 with 0.13).",
    )
    ann_rerank: int = Field(
        2,
        ge=1,
        le=100,
        description="Candidates re-ranked by exact vectors per result asked for (at least "
        "128), when searching compressed codes.",
    )
    max_query_terms: int = Field(
        64,
        ge=1,
        le=4096,
        description="Distinct words of a query that keyword (BM25) search looks up, the first "
        "ones; repeats weigh a term more (query term frequency) but are looked up once.",
    )
    collection: str = Field("default", description="Collection used when a request names none.")
    retrieval_mode: Literal["hybrid", "dense", "keyword"] = Field(
        "hybrid",
        description="How chunks are found: hybrid (BM25 and embeddings, fused), dense "
        "(embeddings only) or keyword (BM25 only). /api/search takes `mode` per request.",
    )
    fusion: Literal["weighted", "zscore", "rrf"] = Field(
        "weighted",
        description="Hybrid fusion: weighted (min-max normalized scores, see "
        "fusion_dense_weight), zscore (z-score normalized scores, the same weight) or rrf "
        "(reciprocal rank fusion, see rrf_k; the weight scales each side's 1/(k + rank)).",
    )
    fusion_dense_weight: float = Field(
        0.5, ge=0, le=1, description="Weight of the embedding side in hybrid fusion."
    )
    rrf_k: float = Field(60, gt=0, description="The k of reciprocal rank fusion, 1/(k + rank).")
    retrieval_candidates: int = Field(
        100, ge=1, le=1000, description="Candidates taken from each side before fusion."
    )
    chunks_per_document: int = Field(
        0,
        ge=0,
        description="Chunks of one document ranked before every other document has had its "
        "turn; its further chunks follow after them (0 = rank chunks as scored: on long "
        "manuals the answer is often in the right document's second-best chunk).",
    )
    abstain_below: float = Field(
        0.62,
        ge=-1,
        le=1,
        description="Answer only when the question's answerability reaches this; below it "
        "/api/ask says the documents do not answer it, without calling the model. The "
        "answerability is the share of the question's raw evidence (the cosine of the passage "
        "sentence nearest to it, scaled by how much of the question the best passage covers, "
        "each word weighed by its rarity in the collection, halved per rare question name the "
        "collection never uses, or mentions in a chunk or two that no passage is among) above "
        "the mean raw evidence of a dozen off-topic probe questions on the same collection, so "
        "one threshold holds on 15 chunks and on 10,000. 0.62 refuses 82% of the unanswerable "
        "real-document questions and 7% of the answerable ones (all four refused between 0.60 "
        "and 0.62 were answered wrongly); on two held-out sets of manuals 90% and 100%, "
        "answering all their answerable ones. A "
        "collection's own threshold, written by `ragd eval QA.jsonl --collection NAME "
        "--write-threshold`, takes precedence.",
    )
    answer_mode: Literal["generative", "extractive", "auto"] = Field(
        "auto",
        description="generative: the model's answer, each sentence support-checked (unsupported "
        "ones lose their citation); extractive: the passage sentence bearing most on the "
        "question, quoted verbatim and cited, without generating; auto: generative, replaced "
        "by the extractive answer when it fails the support check (see RAGD_REPLACE_BELOW).",
    )
    support_threshold: float = Field(
        0.6,
        ge=0,
        le=1,
        description="An answer sentence is supported when its support score (the geometric "
        "mean of the share of its topic words found in a three-sentence window of a cited "
        "passage and its embedding cosine to the closest sentence there; zero when it names a "
        "number, identifier or name the passage lacks) reaches this. "
        "Calibrated with `ragd eval`.",
    )
    replace_below: float = Field(
        0.5,
        ge=0,
        le=1,
        description="In auto mode, a generated answer whose grounded share (supported "
        "sentences) is below this, or that declines to answer, is replaced by the extractive one.",
    )
    hyde: Literal["off", "dense", "keyword", "both"] = Field(
        "off",
        description="HyDE: the model writes a short hypothetical answer before retrieval, "
        "embedded beside the question (dense), added to its keywords (keyword), or both.",
    )
    hyde_tokens: int = Field(48, ge=8, le=512, description="Most tokens of a HyDE answer.")
    neighbours: int = Field(
        0,
        ge=0,
        le=3,
        description="Chunks of the same document each side that a retrieved chunk brings into "
        "the prompt (small-to-big); a widened passage that does not fit is offered alone.",
    )
    context_sentences: int = Field(
        4,
        ge=0,
        description="Sentences of each retrieved chunk shown to the model: the ones bearing "
        "most on the question, with a neighbour each side (0: whole chunks).",
    )
    max_upload_mb: float = Field(50, gt=0, description="Largest accepted upload, in MB.")
    commit_seconds: float = Field(
        30,
        gt=0,
        description="An ingest commits what it has embedded at least this often (as well as "
        "every 2048 chunks): an interrupted ingest loses at most this many seconds of work.",
    )
    min_free_mb: float = Field(
        100,
        ge=0,
        description="Ingest and uploads refuse to start with less free space than this on the "
        "data folder's disk (507 over HTTP), rather than fail half-way; 0 turns the check off.",
    )
    api_keys: str = Field(
        "",
        description="Comma-separated API keys, each optionally suffixed `:read` (search and ask "
        "only) or `:admin` (the default: also upload and delete); at least 16 characters each. "
        "Empty, with no keys file, means no auth: `ragd serve` then binds loopback only.",
    )
    api_keys_file: Path | None = Field(
        None,
        description="File of hashed API keys, one per line: the key's SHA-256 hex, then "
        "optionally a role (`read` or `admin`), `collections=NAME:ROLE,...` to scope the key "
        "to those collections, and a name; `#` starts a comment. Read again when it changes. "
        "Default: `keys` in the data dir, where `ragd keys create` writes.",
    )
    conversation_retention_days: float = Field(
        90,
        ge=0,
        description="Conversations untouched for this many days are deleted; 0 keeps them.",
    )
    audit_max_mb: float = Field(
        10, gt=0, description="The audit log (data dir, audit.log) is rotated past this size."
    )
    audit_keep: int = Field(5, ge=1, le=100, description="Rotated audit logs kept.")
    rate_limit: str = Field(
        "300/minute",
        description="Requests allowed per API key (per client address without keys) to the "
        "costly routes: asking (/api/ask, /v1/chat/completions, which the model queue also "
        "bounds), uploading and deleting; in the `limits` notation, e.g. `300/minute` or "
        "`10/second;300/minute`; empty turns it off.",
    )
    search_rate_limit: str = Field(
        "3000/minute",
        description="The same for the cheap routes: /api/search (one query embedding and an "
        "index lookup, milliseconds) and reads (lists, /v1/models, /metrics); /health is never "
        "limited. Counted apart from RAGD_RATE_LIMIT, so an evaluation script does not spend "
        "the budget of questions.",
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins (scheme://host[:port]) whose pages may call the API; "
        "empty (the default) allows none. `*` is refused.",
    )
    allowed_hosts: str = Field(
        "",
        description="Comma-separated Host header names the server answers to besides its own "
        "(DNS-rebinding defence): `ragd serve` on loopback answers only to localhost names, "
        "keys or not, and without keys on the network only to this machine's names. `*` "
        "answers any Host (refused without keys).",
    )
    max_request_kb: int = Field(
        1024, ge=1, description="Largest request body other than an upload, in KB."
    )
    header_timeout_seconds: float = Field(
        10,
        gt=0,
        description="Seconds a client has to send a request's line and headers; then the "
        "connection is closed (slowloris).",
    )
    body_timeout_seconds: float = Field(
        120,
        gt=0,
        description="Seconds a client has to send a whole request body (an upload included), "
        "and at most a quarter of it between two pieces; then 408.",
    )
    max_connections: int = Field(
        256,
        ge=1,
        description="Connections served at once; a request beyond them is answered 503.",
    )
    parse_workers: int = Field(
        2, ge=1, description="Worker processes that parse documents (each sandboxed)."
    )
    parse_memory_mb: int = Field(
        1024, ge=64, description="Memory a parser worker may use on top of its baseline, in MB."
    )
    parse_cpu_seconds: int = Field(60, ge=1, description="CPU seconds allowed to parse one file.")
    parse_timeout_seconds: float = Field(
        120, gt=0, description="Wall-clock seconds allowed to parse one file."
    )
    max_document_chars: int = Field(
        20_000_000,
        ge=1000,
        description="Most characters of text one document may yield, and store (its chunks "
        "with their overlap and headings).",
    )
    max_file_mb: float = Field(
        200,
        gt=0,
        description="Largest file `ingest` reads, in MB; larger ones are skipped with their "
        "size before any byte is read.",
    )
    ocr: Literal["auto", "off"] = Field(
        "auto",
        description="OCR (tesseract) for images and for the PDF pages that have no text layer "
        "(scans): auto reads them, off skips them (a file with no other text is skipped, "
        "with that reason). Pages with a text layer are never OCR'd.",
    )
    ocr_max_pages: int = Field(
        50,
        ge=1,
        description="Most pages (or image frames) of one file read by OCR, at about 2 s a "
        "page; OCR also stops at 80% of RAGD_PARSE_TIMEOUT_SECONDS. A cut is reported.",
    )
    queue_depth: int = Field(
        8,
        ge=0,
        description="Requests that may wait for the model besides the one generating; "
        "more are refused at once with 429 and Retry-After.",
    )
    stream_interval_ms: float = Field(
        30,
        ge=0,
        le=1000,
        description="Streamed answers send the first token at once, then at most one event "
        "per this many milliseconds with every token made meanwhile (0: one per event-loop "
        "wake-up), so a fast model is not slowed by a wake-up per token.",
    )
    query_rewrite: Literal["model", "keywords", "off"] = Field(
        "model",
        description="How a follow-up question (with history) becomes a standalone retrieval "
        "query: rewritten by the model (keywords as fallback), keywords of the last user "
        "turn added, or off.",
    )
    llm_url: str = Field(
        "",
        description="Base URL of an OpenAI-compatible server (llama-server, vLLM, Ollama), "
        "e.g. http://gpu-box:8080/v1; when set, generation runs there and RAGD_LLM_MODEL "
        "names the model on that server (the default name picks the server's first model).",
    )
    llm_api_key: str = Field("", description="Bearer key for RAGD_LLM_URL, if it needs one.")
    llm_timeout: float = Field(
        120, gt=0, description="Seconds to wait for the remote model server before giving up."
    )
    vector_store: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="Where chunks, vectors and the keyword index live: faiss (files under "
        "RAGD_DATA_DIR/index, one machine) or milvus (RAGD_MILVUS_URI; several ragd replicas "
        "can share one Milvus server).",
    )
    milvus_uri: str = Field(
        "",
        description="The Milvus endpoint when RAGD_VECTOR_STORE=milvus: http://host:19530 for "
        "a server (shared by replicas), or a .db file path for milvus-lite embedded in this "
        "process (one process at a time); default: RAGD_DATA_DIR/milvus.db.",
    )
    milvus_token: str = Field(
        "", description="Milvus credentials, `user:password` or an API key; empty: none."
    )
    milvus_prefix: str = Field(
        "ragd_",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,31}$",
        description="Prefix of ragd's collection names in Milvus: deployments sharing one "
        "Milvus server keep apart by using different prefixes.",
    )

    watch: str = Field(
        "",
        description="Comma-separated files and folders `ragd serve` keeps a collection in step "
        "with (as `ragd serve --watch PATH...`): added, changed, renamed and deleted files follow "
        "within seconds; a full incremental pass at start catches up with changes made while "
        "it was down.",
    )
    watch_collection: str | None = Field(
        None, description="The collection the watched folders fill (default: RAGD_COLLECTION)."
    )

    @property
    def watch_paths(self) -> list[Path]:
        return [Path(p.strip()) for p in self.watch.split(",") if p.strip()]

    @property
    def llm_choice(self) -> str:
        """RAGD_LLM_MODEL when set; else the model `ragd models use` recorded; else the demo."""
        if "llm_model" in self.model_fields_set:
            return self.llm_model
        return current(self.models_dir) or self.llm_model

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def milvus_endpoint(self) -> str:
        return self.milvus_uri or str(self.data_dir / "milvus.db")

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

"""A deterministic catalogue of a few hundred models shaped like OpenRouter's `GET /models`."""

from __future__ import annotations

import random
from decimal import Decimal
from functools import cache
from typing import Any

# (model id, display name, prompt $/Mtok, completion $/Mtok, context, input modalities)
# A few real, well-known entries that tests and the README name explicitly.
_PINNED: list[tuple[str, str, str, str, int, list[str]]] = [
    ("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", "0.15", "0.6", 128000, ["text", "image"]),
    ("openai/gpt-4o", "OpenAI: GPT-4o", "2.5", "10", 128000, ["text", "image", "file"]),
    (
        "anthropic/claude-3.5-sonnet",
        "Anthropic: Claude 3.5 Sonnet",
        "3",
        "15",
        200000,
        ["text", "image", "file"],
    ),
    (
        "meta-llama/llama-3.1-8b-instruct:free",
        "Meta: Llama 3.1 8B Instruct (free)",
        "0",
        "0",
        131072,
        ["text"],
    ),
    (
        "meta-llama/llama-3.1-8b-instruct",
        "Meta: Llama 3.1 8B Instruct",
        "0.02",
        "0.03",
        131072,
        ["text"],
    ),
    (
        "google/gemini-2.5-flash",
        "Google: Gemini 2.5 Flash",
        "0.3",
        "2.5",
        1048576,
        ["text", "image", "file", "audio"],
    ),
    ("deepseek/deepseek-r1", "DeepSeek: R1", "0.4", "2", 163840, ["text"]),
    (
        "mistralai/mistral-small-3.2-24b-instruct:free",
        "Mistral: Mistral Small 3.2 24B (free)",
        "0",
        "0",
        131072,
        ["text", "image"],
    ),
]

_VENDORS: list[tuple[str, str, list[str]]] = [
    (
        "openai",
        "OpenAI",
        [
            "gpt-3.5-turbo",
            "gpt-4",
            "gpt-4-turbo",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "o1",
            "o1-mini",
            "o3",
            "o3-mini",
            "o4-mini",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5-nano",
            "gpt-oss-20b",
            "gpt-oss-120b",
        ],
    ),
    (
        "anthropic",
        "Anthropic",
        [
            "claude-3-haiku",
            "claude-3-opus",
            "claude-3.5-haiku",
            "claude-3.7-sonnet",
            "claude-sonnet-4",
            "claude-opus-4",
            "claude-opus-4.1",
            "claude-haiku-4.5",
            "claude-sonnet-4.5",
        ],
    ),
    (
        "google",
        "Google",
        [
            "gemini-2.0-flash-001",
            "gemini-2.0-flash-lite-001",
            "gemini-2.5-pro",
            "gemini-2.5-flash-lite",
            "gemma-2-9b-it",
            "gemma-2-27b-it",
            "gemma-3-4b-it",
            "gemma-3-12b-it",
            "gemma-3-27b-it",
            "gemma-3n-e4b-it",
        ],
    ),
    (
        "meta-llama",
        "Meta",
        [
            "llama-3-8b-instruct",
            "llama-3-70b-instruct",
            "llama-3.1-70b-instruct",
            "llama-3.1-405b-instruct",
            "llama-3.2-1b-instruct",
            "llama-3.2-3b-instruct",
            "llama-3.2-11b-vision-instruct",
            "llama-3.2-90b-vision-instruct",
            "llama-3.3-70b-instruct",
            "llama-4-scout",
            "llama-4-maverick",
            "llama-guard-3-8b",
        ],
    ),
    (
        "mistralai",
        "Mistral",
        [
            "mistral-7b-instruct",
            "mistral-nemo",
            "mistral-small",
            "mistral-medium-3",
            "mistral-large",
            "mixtral-8x7b-instruct",
            "mixtral-8x22b-instruct",
            "codestral-2508",
            "devstral-small",
            "devstral-medium",
            "pixtral-12b",
            "pixtral-large-2411",
            "ministral-3b",
            "ministral-8b",
            "magistral-small-2506",
            "magistral-medium-2506",
        ],
    ),
    (
        "deepseek",
        "DeepSeek",
        [
            "deepseek-chat",
            "deepseek-chat-v3-0324",
            "deepseek-chat-v3.1",
            "deepseek-r1-0528",
            "deepseek-r1-distill-llama-70b",
            "deepseek-r1-distill-qwen-32b",
            "deepseek-prover-v2",
            "deepseek-v3.2-exp",
        ],
    ),
    (
        "qwen",
        "Qwen",
        [
            "qwen-2.5-7b-instruct",
            "qwen-2.5-72b-instruct",
            "qwen-2.5-coder-32b-instruct",
            "qwen-2.5-vl-72b-instruct",
            "qwq-32b",
            "qwen3-8b",
            "qwen3-14b",
            "qwen3-32b",
            "qwen3-30b-a3b",
            "qwen3-235b-a22b",
            "qwen3-coder",
            "qwen3-max",
            "qwen-turbo",
            "qwen-plus",
            "qwen-max",
        ],
    ),
    (
        "x-ai",
        "xAI",
        [
            "grok-2-1212",
            "grok-2-vision-1212",
            "grok-3",
            "grok-3-mini",
            "grok-4",
            "grok-4-fast",
            "grok-code-fast-1",
        ],
    ),
    ("cohere", "Cohere", ["command-r", "command-r-plus", "command-r7b-12-2024", "command-a"]),
    (
        "microsoft",
        "Microsoft",
        [
            "phi-3-mini-128k-instruct",
            "phi-3-medium-128k-instruct",
            "phi-3.5-mini-128k-instruct",
            "phi-4",
            "phi-4-multimodal-instruct",
            "phi-4-reasoning-plus",
            "wizardlm-2-8x22b",
            "mai-ds-r1",
        ],
    ),
    (
        "nvidia",
        "NVIDIA",
        [
            "llama-3.1-nemotron-70b-instruct",
            "llama-3.3-nemotron-super-49b-v1",
            "nemotron-nano-9b-v2",
        ],
    ),
    ("amazon", "Amazon", ["nova-micro-v1", "nova-lite-v1", "nova-pro-v1"]),
    (
        "perplexity",
        "Perplexity",
        ["sonar", "sonar-pro", "sonar-reasoning", "sonar-reasoning-pro", "sonar-deep-research"],
    ),
    (
        "nousresearch",
        "Nous",
        [
            "hermes-2-pro-llama-3-8b",
            "hermes-3-llama-3.1-70b",
            "hermes-3-llama-3.1-405b",
            "hermes-4-70b",
            "hermes-4-405b",
            "deephermes-3-mistral-24b-preview",
        ],
    ),
    (
        "moonshotai",
        "MoonshotAI",
        ["kimi-k2", "kimi-k2-0905", "kimi-dev-72b", "kimi-vl-a3b-thinking"],
    ),
    ("z-ai", "Z.AI", ["glm-4-32b", "glm-4.5", "glm-4.5-air", "glm-4.5v", "glm-4.6"]),
    ("minimax", "MiniMax", ["minimax-01", "minimax-m1", "minimax-m2"]),
    ("ai21", "AI21", ["jamba-mini-1.7", "jamba-large-1.7"]),
    ("inflection", "Inflection", ["inflection-3-pi", "inflection-3-productivity"]),
    ("liquid", "Liquid", ["lfm-3b", "lfm-7b", "lfm-40b"]),
    (
        "thedrummer",
        "TheDrummer",
        ["rocinante-12b", "unslopnemo-12b", "anubis-70b-v1.1", "skyfall-36b-v2"],
    ),
    ("sao10k", "Sao10K", ["l3-lunaris-8b", "l3.1-euryale-70b", "l3.3-euryale-70b"]),
    ("gryphe", "Gryphe", ["mythomax-l2-13b"]),
    ("baidu", "Baidu", ["ernie-4.5-21b-a3b", "ernie-4.5-300b-a47b", "ernie-4.5-vl-28b-a3b"]),
    ("tencent", "Tencent", ["hunyuan-a13b-instruct"]),
    (
        "arcee-ai",
        "Arcee AI",
        ["coder-large", "maestro-reasoning", "virtuoso-large", "spotlight", "afm-4.5b"],
    ),
    ("ibm-granite", "IBM", ["granite-4.0-h-micro"]),
    ("allenai", "AllenAI", ["olmo-2-0325-32b-instruct", "molmo-7b-d"]),
    ("bytedance", "ByteDance", ["ui-tars-1.5-7b", "seed-oss-36b-instruct"]),
    ("openrouter", "OpenRouter", ["auto"]),
]

_PARAMETERS = [
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "top_k",
    "repetition_penalty",
    "min_p",
    "logit_bias",
    "response_format",
    "structured_outputs",
    "tools",
    "tool_choice",
    "reasoning",
    "include_reasoning",
]
_CONTEXTS = [4096, 8192, 16384, 32768, 65536, 128000, 131072, 163840, 200000, 262144, 1048576]
_PER_MILLION = [
    "0.01",
    "0.02",
    "0.04",
    "0.05",
    "0.07",
    "0.1",
    "0.13",
    "0.15",
    "0.2",
    "0.25",
    "0.3",
    "0.4",
    "0.5",
    "0.6",
    "0.8",
    "0.9",
    "1",
    "1.1",
    "1.25",
    "2",
    "2.5",
    "3",
    "4",
    "5",
    "8",
    "10",
    "15",
    "30",
    "60",
]
_MILLION = Decimal(1_000_000)


def _per_token(per_million: str) -> str:
    """Turn dollars per million tokens ('0.15') into dollars per token ('0.00000015')."""
    value = Decimal(per_million) / _MILLION
    return format(value.normalize(), "f") if value else "0"


def _model(
    model_id: str,
    name: str,
    prompt: str,
    completion: str,
    context: int,
    inputs: list[str],
    rng: random.Random,
) -> dict[str, Any]:
    reasoning = any(
        word in model_id
        for word in (
            "o1",
            "o3",
            "o4",
            "r1",
            "think",
            "reason",
            "qwq",
            "magistral",
            "gpt-5",
            "grok-4",
            "glm-4.5",
            "kimi",
        )
    )
    params = [p for p in _PARAMETERS if rng.random() < 0.7 or p in ("max_tokens", "temperature")]
    if not reasoning:
        params = [p for p in params if p not in ("reasoning", "include_reasoning")]
    image_out = "image" in model_id
    return {
        "id": model_id,
        "canonical_slug": model_id.split(":")[0] + "-" + str(20240000 + rng.randrange(10000)),
        "hugging_face_id": "",
        "name": name,
        "created": 1690000000 + rng.randrange(80_000_000),
        "description": f"{name} is served by the chatapp stand-in for OpenRouter. "
        f"It streams deterministic text for tests and offline trials.",
        "context_length": context,
        "architecture": {
            "modality": "+".join(inputs) + "->" + ("text+image" if image_out else "text"),
            "input_modalities": inputs,
            "output_modalities": ["image", "text"] if image_out else ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {
            "prompt": _per_token(prompt),
            "completion": _per_token(completion),
            "request": "0",
            "image": _per_token(str(Decimal(prompt) * 1000)) if "image" in inputs else "0",
            "web_search": "0",
            "internal_reasoning": "0",
        },
        "top_provider": {
            "context_length": context,
            "max_completion_tokens": rng.choice([4096, 8192, 16384, 32768, 65536, None]),
            "is_moderated": model_id.startswith(("openai/", "anthropic/")),
        },
        "per_request_limits": None,
        "supported_parameters": params,
    }


def _generated(rng: random.Random) -> list[dict[str, Any]]:
    models = []
    for vendor, label, names in _VENDORS:
        for base in names:
            inputs = ["text"]
            if any(
                w in base
                for w in (
                    "vl",
                    "vision",
                    "pixtral",
                    "gemini",
                    "gpt-4o",
                    "gpt-4.1",
                    "claude",
                    "grok-2-vision",
                    "multimodal",
                    "nova-lite",
                    "nova-pro",
                    "llama-4",
                    "gemma-3",
                )
            ):
                inputs = ["text", "image"] + (["file"] if rng.random() < 0.4 else [])
            prompt = rng.choice(_PER_MILLION)
            completion = str(Decimal(prompt) * rng.choice([1, 2, 3, 4, 5, 8]))
            context = rng.choice(_CONTEXTS)
            title = base.replace("-", " ").title()
            models.append(
                (f"{vendor}/{base}", f"{label}: {title}", prompt, completion, context, inputs)
            )
            if rng.random() < 0.35:  # many open models also have a free variant
                models.append(
                    (f"{vendor}/{base}:free", f"{label}: {title} (free)", "0", "0", context, inputs)
                )
            if rng.random() < 0.2:
                models.append(
                    (
                        f"{vendor}/{base}:nitro",
                        f"{label}: {title} (nitro)",
                        str(Decimal(prompt) * 2),
                        str(Decimal(completion) * 2),
                        context,
                        inputs,
                    )
                )
    return [_model(*spec, rng=rng) for spec in models]


@cache
def build_catalogue() -> tuple[dict[str, Any], ...]:
    """Return the stand-in's models: the same few hundred on every run."""
    rng = random.Random(20250101)
    pinned = [_model(*spec, rng=rng) for spec in _PINNED]
    pinned_ids = {m["id"] for m in pinned}
    models = pinned + [m for m in _generated(rng) if m["id"] not in pinned_ids]
    # The router has no fixed price: OpenRouter reports -1 for "unknown".
    for model in models:
        if model["id"] == "openrouter/auto":
            model["pricing"] = {"prompt": "-1", "completion": "-1"}
        elif model["id"].startswith("perplexity/"):
            model["pricing"]["request"] = "0.005"
    # An image-output model, and one with no pricing at all (the client must cope).
    models.append(
        _model(
            "google/gemini-2.5-flash-image",
            "Google: Gemini 2.5 Flash Image",
            "0.3",
            "2.5",
            32768,
            ["text", "image"],
            rng,
        )
    )
    legacy = _model("undi95/remm-slerp-l2-13b", "ReMM SLERP 13B", "0.5", "0.7", 6144, ["text"], rng)
    del legacy["pricing"]
    models.append(legacy)
    for model in models:
        _cache_and_web_prices(model)
    return tuple(sorted(models, key=lambda m: m["id"]))


# Cache reads as a share of the prompt price, as the providers price them (OpenAI half,
# Anthropic a tenth, Google a quarter); models without a cache have no input_cache_read.
_CACHE_READ_SHARE = {
    "openai": Decimal("0.5"),
    "anthropic": Decimal("0.1"),
    "google": Decimal("0.25"),
}
# Models that search the web natively, at a price per search (others use the web plugin).
_NATIVE_WEB_SEARCH = {"openai/gpt-4o": "0.025", "anthropic/claude-3.5-sonnet": "0.01"}


def _cache_and_web_prices(model: dict[str, Any]) -> None:
    pricing = model.get("pricing")
    if not pricing or pricing.get("prompt") in (None, "-1", "0"):
        return
    share = _CACHE_READ_SHARE.get(model["id"].split("/", 1)[0])
    if share is not None:
        value = Decimal(pricing["prompt"]) * share
        pricing["input_cache_read"] = format(value.normalize(), "f")
    if model["id"] in _NATIVE_WEB_SEARCH:
        pricing["web_search"] = _NATIVE_WEB_SEARCH[model["id"]]


# Providers per vendor, in the order OpenRouter would balance them; the first is the one
# that answers when nothing is asked for. Providers in _STORES_DATA may keep prompts.
_PROVIDERS = {
    "openai": ["OpenAI", "Azure"],
    "anthropic": ["Anthropic", "Amazon Bedrock", "Google Vertex"],
    "meta-llama": ["DeepInfra", "Together", "Fireworks", "Groq"],
    "mistralai": ["Mistral", "Together", "DeepInfra"],
    "google": ["Google Vertex", "Google AI Studio"],
    "deepseek": ["DeepSeek", "Together", "Fireworks"],
}
_STORES_DATA = {"DeepSeek", "Google AI Studio", "Fireworks"}


def endpoints_of(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The providers serving `model`, shaped like `GET /models/{author}/{slug}/endpoints`."""
    vendor = model["id"].split("/", 1)[0]
    names = _PROVIDERS.get(vendor) or [
        vendor.replace("-", " ").title().replace(" ", ""),
        "Together",
    ]
    pricing = model.get("pricing") or {}
    endpoints = []
    for index, provider in enumerate(names):
        # Later providers are a little dearer and faster, so each sort picks a different one.
        markup = Decimal(1) + Decimal(index) / 10
        endpoint_pricing = {
            key: _scaled(value, markup) for key, value in pricing.items() if key != "web_search"
        }
        if "web_search" in pricing:
            endpoint_pricing["web_search"] = pricing["web_search"]
        endpoints.append(
            {
                "name": f"{provider} | {model['id']}",
                "context_length": model["context_length"],
                "pricing": endpoint_pricing,
                "provider_name": provider,
                "tag": provider.lower().replace(" ", "-"),
                "quantization": "fp8" if index else "bf16",
                "max_completion_tokens": model["top_provider"]["max_completion_tokens"],
                "max_prompt_tokens": None,
                "supported_parameters": model["supported_parameters"],
                "status": 0,
                "uptime_last_30m": 99.9 - index,
                "supports_implicit_caching": "input_cache_read" in pricing,
                # The last provider is the fastest, the second has the shortest latency.
                "throughput_tokens_per_second": 60 + 40 * index,
                "latency_ms": 200 if index == 1 else 400 + 50 * index,
                "stores_data": provider in _STORES_DATA,
            }
        )
    return endpoints


def _scaled(value: Any, factor: Decimal) -> Any:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return value
    if number <= 0:
        return value
    return format((number * factor).normalize(), "f")


@cache
def catalogue_by_id() -> dict[str, dict[str, Any]]:
    return {model["id"]: model for model in build_catalogue()}

"""Ember's settings: a small typed TOML file in the config dir, with defaults that work offline."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ember.errors import ConfigError
from ember.paths import Paths, ember_paths

DEFAULT_SYSTEM_PROMPT = (
    "You are Ember, a helpful assistant running privately on the user's own computer. "
    "Answer clearly and concisely."
)

PROMPT_PRESETS: dict[str, str] = {
    "Helpful assistant": DEFAULT_SYSTEM_PROMPT,
    "Concise": "You are Ember. Answer in as few words as possible while staying correct.",
    "Teacher": "You are Ember, a patient teacher. Explain step by step with small examples.",
    "Programmer": "You are Ember, an expert programmer. Prefer working code with short explanations.",
}


@dataclass(slots=True)
class RemoteEndpoint:
    """A server the user outgrew their machine into: OpenAI-compatible or a remote Ollama."""

    name: str
    kind: str  # "openai" or "ollama"
    base_url: str
    model: str
    api_key: str = ""


@dataclass(slots=True)
class Settings:
    model: str = ""  # "" = the embedded default; else a catalog name, GGUF path, "ollama:NAME", "remote:NAME"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    temperature: float = 0.7
    top_p: float = 0.95
    repeat_penalty: float = 1.1  # 1.0 = off; the small embedded model repeats itself without it
    max_tokens: int = 512
    context_size: int = 4096
    threads: int = 0  # 0 = let llama.cpp choose
    gpu_layers: int = 0
    seed: int = -1  # -1 = random
    ollama_host: str = "http://127.0.0.1:11434"
    remotes: list[RemoteEndpoint] = field(default_factory=list)
    data_dir: str = ""  # "" = the platform default

    def validate(self) -> Settings:
        problems: list[str] = []
        if not 0.0 <= self.temperature <= 2.0:
            problems.append("temperature must be between 0 and 2")
        if not 0.0 < self.top_p <= 1.0:
            problems.append("top_p must be above 0 and at most 1")
        if not 1.0 <= self.repeat_penalty <= 2.0:
            problems.append("repeat_penalty must be between 1.0 (off) and 2.0")
        if not 1 <= self.max_tokens <= 32768:
            problems.append("max_tokens must be between 1 and 32768")
        if not 256 <= self.context_size <= 1_048_576:
            problems.append("context_size must be between 256 and 1048576")
        if self.max_tokens >= self.context_size:
            problems.append("max_tokens must be smaller than context_size")
        if self.threads < 0 or self.gpu_layers < -1:
            problems.append("threads must be >= 0 and gpu_layers >= -1 (-1 = all)")
        if not self.ollama_host.startswith(("http://", "https://")):
            problems.append("ollama_host must start with http:// or https://")
        for remote in self.remotes:
            if remote.kind not in ("openai", "ollama"):
                problems.append(f"remote {remote.name!r}: kind must be 'openai' or 'ollama'")
        if problems:
            raise ConfigError("Invalid settings: " + "; ".join(problems) + ".")
        return self


def _from_dict(raw: dict[str, Any], source: Path) -> Settings:
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}; remove or fix them.")
    values = dict(raw)
    try:
        values["remotes"] = [RemoteEndpoint(**r) for r in raw.get("remotes", [])]
        settings = Settings(**values)
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    defaults = Settings()
    for f in dataclasses.fields(Settings):
        expected = type(getattr(defaults, f.name))
        value = getattr(settings, f.name)
        if expected is float and isinstance(value, int):
            setattr(settings, f.name, float(value))
        elif not isinstance(value, expected):
            raise ConfigError(f"{source}: {f.name} should be {expected.__name__}, not {value!r}.")
    return settings.validate()


def load_settings(paths: Paths | None = None) -> Settings:
    """Read settings, or the defaults when there is no file yet."""
    path = (paths or ember_paths()).config_file
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        raise ConfigError(f"Cannot read settings file {path}: {exc.strerror}.") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Settings file {path} is not valid TOML ({exc}); fix or delete it."
        ) from None
    return _from_dict(raw, path)


def save_settings(settings: Settings, paths: Paths | None = None) -> Path:
    """Validate and write settings atomically (temp file, fsync, rename)."""
    import tomli_w

    settings.validate()
    path = (paths or ember_paths()).config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = tomli_w.dumps(dataclasses.asdict(settings)).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

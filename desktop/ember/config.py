"""Ember's settings: a small typed TOML file in the config dir, with defaults that work offline.

Every field is checked by pydantic (strict types: ``api_key = 5`` is refused, not turned into
"5"), and every problem is reported at once as a :class:`~ember.errors.ConfigError` naming the
field and, when read from disk, the file. The context window is ``n_ctx`` everywhere; files
written before it was renamed say ``context_size``, which is still read.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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

# The names the context window had in settings files before it was called ``n_ctx``.
_OLD_KEYS = {"context_size": "n_ctx"}

# Strict: a TOML string never becomes a number, nor a number a string or a bool. A float field
# still takes a whole number (``temperature = 1``).
_STRICT = ConfigDict(strict=True, extra="forbid")


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


class RemoteEndpoint(BaseModel):
    """A server the user outgrew their machine into: OpenAI-compatible or a remote Ollama."""

    model_config = _STRICT

    name: Annotated[str, Field(min_length=1)]
    kind: Literal["openai", "ollama"]
    base_url: str
    model: str
    api_key: str = ""  # "" = none; sent as a bearer token

    def __init__(self, /, *args: Any, **values: Any) -> None:
        # Positional arguments too, in field order, as the dataclass this was took them.
        if len(args) > len(type(self).model_fields):
            raise TypeError(f"RemoteEndpoint takes at most {len(type(self).model_fields)} values")
        super().__init__(**dict(zip(type(self).model_fields, args, strict=False)), **values)

    _check_url = field_validator("base_url")(_http_url)


class Settings(BaseModel):
    """What a person can set. Construct with keywords; :meth:`validate` after changing fields.

    Constructing or validating raises :class:`ConfigError` naming every field that is wrong.
    """

    model_config = _STRICT

    model: str = ""  # "" = the embedded default; else a catalog name, GGUF path, "ollama:NAME", "remote:NAME"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] = 0.7
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] = 0.95
    # 1.0 = off; the small embedded model repeats itself without it
    repeat_penalty: Annotated[float, Field(ge=1.0, le=2.0)] = 1.1
    max_tokens: Annotated[int, Field(ge=1, le=32768)] = 512  # tokens per reply
    n_ctx: Annotated[int, Field(ge=256, le=1_048_576)] = 4096  # context window, in tokens
    threads: Annotated[int, Field(ge=0)] = 0  # 0 = let llama.cpp choose
    # Layers offloaded to a GPU: "auto" = as many as its free memory holds (ember.engines.fit),
    # -1 = all, 0 = none.
    gpu_layers: Annotated[int, Field(ge=-1)] | Literal["auto"] = "auto"
    seed: int = -1  # -1 = random
    ollama_host: str = "http://127.0.0.1:11434"
    remotes: list[RemoteEndpoint] = Field(default_factory=list)
    data_dir: str = ""  # "" = the platform default
    theme: Literal["system", "light", "dark"] = "system"  # the window's look; EMBER_THEME overrides
    # The local API (ember.api): served by the window when api_enabled, or by `ember serve`.
    # 4891 is the port GPT4All's server used, so clients set up for it find Ember.
    api_enabled: bool = False
    api_host: str = "127.0.0.1"
    api_port: Annotated[int, Field(ge=1, le=65535)] = 4891
    # Seconds without a request before `ember serve` unloads its model (0 = never).
    api_idle_unload_s: Annotated[int, Field(ge=0)] = 600
    # Tools (ember.tools): the most model -> tool -> model rounds in one answer; the most
    # characters of one tool result the model is given (longer ones are cut, with a note); how
    # long one call may run; the folders read_file may read; tools the person always allows
    # ("server/tool", see ToolInfo.key). MCP servers are in mcp.json beside this file.
    tool_step_limit: Annotated[int, Field(ge=1, le=64)] = 8
    tool_result_max_chars: Annotated[int, Field(ge=200, le=1_000_000)] = 8000
    tool_timeout_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 60.0
    read_file_folders: list[str] = Field(default_factory=list)
    tools_always_allowed: list[str] = Field(default_factory=list)

    def __init__(self, /, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise InvalidSettings(problems(exc)) from None

    _check_host = field_validator("ollama_host")(_http_url)

    @model_validator(mode="after")
    def _check_together(self) -> Settings:
        if self.max_tokens >= self.n_ctx:
            raise ValueError("max_tokens must be smaller than n_ctx (the context window)")
        names = [remote.name for remote in self.remotes]
        if len(set(names)) != len(names):
            raise ValueError("two remote servers share a name")
        return self

    def validate(self) -> Settings:  # type: ignore[override]  # pydantic's deprecated classmethod
        """Check every field again (after assignments); returns a validated copy.

        Raises :class:`ConfigError` naming each problem.
        """
        return Settings(**self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """Plain values (remotes as dicts), as the settings file holds them."""
        return self.model_dump(warnings=False)  # validate() names what is wrong


class InvalidSettings(ConfigError):
    """Settings with wrong values; ``problems`` names each field and what is wrong with it."""

    def __init__(self, problems: list[str], source: Path | None = None) -> None:
        self.problems = problems
        where = f"Invalid settings in {source}" if source else "Invalid settings"
        advice = " Fix or remove them." if source else ""
        super().__init__(f"{where}: " + "; ".join(problems) + "." + advice)


def problems(exc: ValidationError) -> list[str]:
    """``"field: what is wrong (it is VALUE)"`` for every error pydantic found."""
    found = []
    for error in exc.errors(include_url=False):
        where = ".".join(
            f"[{part}]" if isinstance(part, int) else str(part) for part in error["loc"]
        ).replace(".[", "[")
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting (misspelt, or from another version of Ember)"
        elif error["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        else:
            message = message[:1].lower() + message[1:]
        shown = error["type"] not in ("missing", "extra_forbidden") and error["loc"]
        if shown and error["loc"][-1] != "api_key":  # never echo a secret into a log
            value = repr(error["input"])
            message += f" (it is {value[:60] + '…' if len(value) > 60 else value})"
        found.append(f"{where}: {message}" if where else message)
    return found


def from_dict(raw: dict[str, Any], source: Path) -> Settings:
    """Settings from a parsed settings file; :class:`ConfigError` names ``source`` and the fields."""
    values = dict(raw)
    for old, new in _OLD_KEYS.items():
        if old in values and new not in values:
            values[new] = values.pop(old)
    try:
        return Settings(**values)
    except InvalidSettings as exc:
        raise InvalidSettings(exc.problems, source) from None


def load_settings(paths: Paths | None = None) -> Settings:
    """Read settings, or the defaults when there is no file yet. Raises :class:`ConfigError`."""
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
    return from_dict(raw, path)


def save_settings(settings: Settings, paths: Paths | None = None) -> Path:
    """Validate and write settings atomically; returns the file's path.

    Raises :class:`ConfigError` for invalid settings (nothing is written) and :class:`OSError`
    when the disk refuses. The file is private to the user (it may hold API keys).
    """
    import tomli_w

    from ember.files import write_atomically

    checked = settings.validate()
    path = (paths or ember_paths()).config_file
    write_atomically(path, tomli_w.dumps(checked.to_dict()), mode=0o600)
    return path

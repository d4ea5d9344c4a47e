"""Keep llama.cpp's evaluated prompts so a conversation's later turns pay only for their new tokens.

llama-cpp-python already reuses the KV cache of the longest common prefix between the tokens it
evaluated last and the next prompt (``Llama.generate``), so the next turn of the *same* chat only
evaluates the new question (and the last answer where its re-rendered tokens differ). What it
loses is every other conversation: one model serves all chats, so answering in chat B overwrote
chat A's cache, and A's next turn evaluated its whole history again.

:class:`PromptCache` saves the KV cache of sequence 0 (``llama_state_seq_get_data``: the cache
only, not the logits that ``Llama.save_state`` copies) whenever a new prompt is about to discard
at least :data:`MIN_SAVED_TOKENS` tokens of it, keyed by those tokens, and restores the saved
state that shares the longest prefix with a prompt when it beats what is loaded. Saved states are
bounded by bytes (least recently used go first). Each save costs one copy of the cache (about
23 kB per token for SmolLM2 135M, 128 kB for a 7B model with 8 KV heads at f16).
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from llama_cpp import Llama

# A state is saved only when a prompt would throw away at least this many evaluated tokens.
MIN_SAVED_TOKENS = 16
# What saved states may take together, in bytes, unless the engine is given another limit.
DEFAULT_CAPACITY_BYTES = 256 << 20


@dataclass(frozen=True, slots=True)
class PromptReuse:
    """How one prompt was prepared: ``prompt_tokens`` in all, ``reused_tokens`` whose KV cache
    was already there (so llama.cpp evaluates ``prompt_tokens - reused_tokens``), and
    ``restored`` when that cache came from a saved state (another conversation's)."""

    prompt_tokens: int
    reused_tokens: int
    restored: bool = False

    @property
    def evaluated_tokens(self) -> int:
        return self.prompt_tokens - self.reused_tokens


@dataclass(slots=True)
class _Saved:
    tokens: np.ndarray  # int32 token ids, the state's evaluated prompt
    data: Any  # ctypes uint8 array, llama_state_seq_get_data's bytes


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    """Length of the common prefix of two token arrays."""
    import numpy as np  # lazy: loaded with llama.cpp, not with Ember

    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n


class PromptCache:
    """Saved KV-cache states of one ``Llama`` (sequence 0), keyed by their tokens.

    Not thread-safe: the engine calls it under its generation lock.
    """

    def __init__(self, llama: Llama, capacity_bytes: int = DEFAULT_CAPACITY_BYTES) -> None:
        self._llama = llama
        self.capacity_bytes = capacity_bytes
        self._saved: OrderedDict[int, _Saved] = OrderedDict()  # oldest first
        self._next_key = 0
        self.saves = 0
        self.restores = 0
        self.last: PromptReuse | None = None

    @property
    def saved_bytes(self) -> int:
        return sum(len(s.data) for s in self._saved.values())

    @property
    def saved_states(self) -> int:
        return len(self._saved)

    def prepare(self, prompt: Sequence[int]) -> PromptReuse:
        """Before ``prompt`` is generated from: save the loaded state if the prompt would discard
        much of it, and load the saved state that shares more of the prompt than the loaded one.
        Returns how much of the prompt llama.cpp will not evaluate again."""
        import numpy as np

        llama = self._llama
        tokens = np.asarray(prompt, dtype=np.intc)
        loaded = np.asarray(llama.input_ids[: llama.n_tokens], dtype=np.intc)
        shared = common_prefix(loaded, tokens)
        best_key, best = None, shared
        for key, saved in self._saved.items():
            prefix = common_prefix(saved.tokens, tokens)
            if prefix > best:
                best_key, best = key, prefix
        candidate = self._saved.pop(best_key) if best_key is not None else None
        if len(loaded) - shared >= MIN_SAVED_TOKENS:
            self._save(loaded)
        restored = False
        if candidate is not None:
            restored = self._restore(candidate)
            shared = best if restored else 0
        # llama.cpp evaluates at least one token to get fresh logits.
        reused = min(shared, len(tokens) - 1) if shared > 0 else 0
        self.last = PromptReuse(len(tokens), max(0, reused), restored)
        return self.last

    def stash(self) -> None:
        """Save the loaded state before something resets it (a seeded request starts clean)."""
        import numpy as np

        llama = self._llama
        if llama.n_tokens >= MIN_SAVED_TOKENS:
            self._save(np.asarray(llama.input_ids[: llama.n_tokens], dtype=np.intc))

    def clear(self) -> None:
        self._saved.clear()

    def _save(self, tokens: np.ndarray) -> None:
        import llama_cpp

        ctx = self._llama._ctx.ctx
        size = int(llama_cpp.llama_state_seq_get_size(ctx, 0))
        if size <= 0 or size > self.capacity_bytes:
            return
        data = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(ctx, data, size, 0))
        if written <= 0 or written > size:
            return
        # An older state this one extends (all but a few tokens of it) is superseded.
        for key in [
            k
            for k, s in self._saved.items()
            if common_prefix(s.tokens, tokens) > len(s.tokens) - MIN_SAVED_TOKENS
        ]:
            del self._saved[key]
        self._saved[self._next_key] = _Saved(tokens.copy(), data)
        self._next_key += 1
        self.saves += 1
        while self.saved_bytes > self.capacity_bytes:
            self._saved.popitem(last=False)

    def _restore(self, saved: _Saved) -> bool:
        """Load ``saved`` into sequence 0; on failure the cache is left empty (False)."""
        import llama_cpp

        llama = self._llama
        llama._ctx.kv_cache_clear()
        size = len(saved.data)
        if int(llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, saved.data, size, 0)) != size:
            llama._ctx.kv_cache_clear()
            llama.n_tokens = 0
            llama._requires_eval = True
            return False
        n = len(saved.tokens)
        llama.input_ids[:n] = saved.tokens
        llama.n_tokens = n
        llama._requires_eval = True  # logits come from a fresh decode of at least one token
        self.restores += 1
        return True

"""The message's size in tokens against the model's context, shown before it is sent.

A moment after typing stops (``DEBOUNCE_MS``) the composer's text is counted with the loaded
model's own tokenizer, on the engine worker (never the GUI thread; one count at a time, the
newest text wins). The room a message has is the context window (``n_ctx``) less the system
prompt, the chat template and the least answer the model is left (what
:func:`ember.engines.context.fit_prompt` refuses below). A long message shows
"1,240 / 2,048 tokens" beside the composer; one that cannot fit says so and is not sent.

Without a loaded model the size is an estimate (a token is about four characters), labelled as
one, and never stops a message: the exact count decides once the model is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ember.ui.qt import QObject, QTimer

if TYPE_CHECKING:
    from ember.core import Core
    from ember.ui.composer import Composer
    from ember.ui.tasks import TaskManager

DEBOUNCE_MS = 300
CHARS_PER_TOKEN = 4  # the estimate while no model is loaded
SHOW_FROM = 0.25  # the size shows once the message takes this share of its room


@dataclass(frozen=True, slots=True)
class Size:
    """A message's size: ``tokens`` of the ``room`` it has, in a context of ``n_ctx`` tokens."""

    text: str  # what was counted
    tokens: int
    room: int
    n_ctx: int
    exact: bool  # counted by the model's tokenizer (else an estimate)

    @property
    def fits(self) -> bool:
        return self.tokens <= self.room

    def label(self) -> str:
        """What the composer shows ("" when the message is short)."""
        if self.exact and not self.fits:
            return (
                f"Too long to send: the message takes {self.tokens:,} tokens, but this model "
                f"reads {self.n_ctx:,} at once, {max(self.room, 0):,} of them for your message. "
                "Shorten it, or raise the context size in Settings."
            )
        if self.tokens < SHOW_FROM * max(self.room, 1):
            return ""
        about = "" if self.exact else "about "
        estimate = "" if self.exact else " (estimate)"
        return f"{about}{self.tokens:,} / {self.n_ctx:,} tokens{estimate}"


def _room(core: Core, n_ctx: int, count: object) -> int:
    """*worker* Tokens left for the message once the system prompt, the template and the least
    answer are counted (``count``: text -> tokens)."""
    from ember.engines.context import MIN_ANSWER_TOKENS

    settings = core.settings
    system = count(settings.system_prompt) if settings.system_prompt else 0  # type: ignore[operator]
    engine = core.engine()
    overhead = engine.template_overhead.of(2 if settings.system_prompt else 1)
    return n_ctx - system - overhead - min(MIN_ANSWER_TOKENS, settings.max_tokens)


class TokenCount(QObject):
    """Keeps the composer's size line and its "too long" verdict up to date."""

    def __init__(
        self, core: Core, tasks: TaskManager, composer: Composer, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.composer = composer
        self.size: Size | None = None  # the newest exact count (or estimate)
        self._counting = False
        self._again = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.count)
        composer.input.textChanged.connect(self._timer.start)
        composer.size_check = self.refuse

    def schedule(self) -> None:
        """Count again soon (the text changed, or another model loaded)."""
        self._timer.start()

    def count(self) -> None:
        text = self.composer.input.toPlainText()
        if not text.strip():
            self._show(None)
            return
        if self.core.loaded is None:
            self._show(self._estimate(text))
            return
        if self._counting:
            self._again = True
            return
        self._counting = True
        core = self.core

        def job(_report: object) -> Size | None:
            if core.loaded is None:  # the model failed or was unloaded meanwhile: no load here
                return None
            engine = core.engine()
            tokens = engine.count_tokens(text)
            room = _room(core, engine.n_ctx, engine.count_tokens)
            return Size(text, tokens, room, engine.n_ctx, exact=True)

        self.tasks.run_on(
            self.tasks.engine, "count-tokens", job, on_done=self._counted, on_error=self._failed
        )

    def _estimate(self, text: str) -> Size:
        try:
            n_ctx = self.core.settings.n_ctx
        except Exception:  # a damaged settings file: the window says so elsewhere
            n_ctx = 4096
        tokens = -(-len(text) // CHARS_PER_TOKEN)
        return Size(text, tokens, n_ctx, n_ctx, exact=False)

    def _counted(self, size: Size | None) -> None:
        self._counting = False
        text = self.composer.input.toPlainText()
        if size is None:
            self._show(self._estimate(text) if text.strip() else None)
        elif size.text == text:
            self._show(size)
        if self._again or (size is not None and size.text != text):
            self._again = False
            self.count()

    def _failed(self, _error: BaseException) -> None:
        self._counting = False
        text = self.composer.input.toPlainText()
        self._show(self._estimate(text) if text.strip() else None)  # sending decides then

    def _show(self, size: Size | None) -> None:
        self.size = size
        label = size.label() if size is not None else ""
        warn = size is not None and size.exact and not size.fits
        self.composer.show_size(label, warning=warn)

    def refuse(self, text: str) -> str | None:
        """Why ``text`` must not be sent (it cannot fit the context), or None.

        Called at Send. When the newest count is of other text (typing just happened), its
        tokens-per-character ratio estimates this one; an estimate over the room counts again
        now and refuses this once, with the estimate as the reason."""
        size = self.size
        if size is None or not size.exact:
            return None
        if size.text == text:
            return None if size.fits else size.label()
        ratio = size.tokens / max(len(size.text), 1)
        guess = int(len(text) * ratio)
        if guess <= size.room:
            return None
        self.count()
        return Size(text, guess, size.room, size.n_ctx, exact=True).label()

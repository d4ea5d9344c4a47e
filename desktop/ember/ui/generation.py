"""Sending, streaming, stopping: one answer at a time on the engine worker.

Everything the answer needs from the chat history (creating the chat, whether it is grounded in
documents) happens inside the job, on the engine worker, never on the GUI thread: another Ember
process holding the history's write lock then delays the answer, not the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ember.errors import EmberError, GenerationCancelled
from ember.ui import accessibility, message
from ember.ui.approval_card import ApprovalCard, PendingApproval, WindowApprover
from ember.ui.bubble import BubbleData, MessageBubble
from ember.ui.chatview import ChatView
from ember.ui.composer import Composer
from ember.ui.model_notice import LOADING_MODEL, SEARCHING, add_small_model_notice
from ember.ui.qt import QEvent, QObject, Qt, QTimer, Signal
from ember.ui.tasks import TaskHandle, TaskManager
from ember.ui.versions import VersionChooser

if TYPE_CHECKING:
    from ember.cancel import CancelToken
    from ember.chats.records import Conversation
    from ember.core import Core
    from ember.ui.conversations import Conversations

# Long enough to fall in another turn of the event loop than the question's bubble.
ANSWER_BUBBLE_DELAY_MS = 30

log = logging.getLogger(__name__)

Stream = Callable[[int, "CancelToken"], Iterator[object]]


@dataclass(frozen=True, slots=True)
class ChatCreated:
    """The job created the chat the first message goes to (reported before any token)."""

    conversation: Conversation


@dataclass(frozen=True, slots=True)
class Stage:
    """What the answer waits for before its first token (shown in its bubble)."""

    text: str


class Generation(QObject):
    """Owns the answer being written: its task, its bubble, the composer's Send/Stop state.

    A question sent in a chat without documents, while collections exist, is first searched
    for in each collection: when one answers it, the person is asked whether to use it."""

    betterModelRequested = Signal()  # "Get a better model" under an answer of the tiny model

    def __init__(
        self,
        core: Core,
        tasks: TaskManager,
        conversations: Conversations,
        chat: ChatView,
        composer: Composer,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.conversations = conversations
        self.chat = chat
        self.composer = composer
        self.handle: TaskHandle | None = None
        self._stream_bubble: MessageBubble | None = None
        self._bubble_due = False  # an answer started whose bubble is not built yet
        self._user_bubble: MessageBubble | None = None
        self._view = 0  # the chat view the answer was started in (see Conversations.view)
        self.small_model_noted = False  # the tiny built-in model was named once this session
        # The ‹ 2/3 › switchers on messages: not while an answer is on its way.
        self.versions = VersionChooser(
            conversations.db, conversations, chat, lambda: self.handle is not None, self
        )
        # The tools the open chat lets the model call (set by the window's ChatTools).
        self.chosen_tools: Callable[[], tuple[str, ...]] = lambda: ()
        # Asks with a card; "always" is saved by the tool loop (the toolbox's always_allow).
        self.approver = WindowApprover(None, self)
        self.approver.requested.connect(self._ask)
        self._cards: list[ApprovalCard] = []
        chat.stepCancelRequested.connect(self._cancel_step)
        # Esc in the message box while a card waits is that card's Deny (see escape).
        composer.input.installEventFilter(self)

    def send(self, text: str) -> None:
        """Send what the composer holds (or, while editing, replace that message and resend)."""
        if self.handle is not None or self.composer.blocked_reason is not None:
            return
        if self.versions.switching:  # the chat below a message is being re-threaded
            return
        if not text.strip():
            return
        if self._offer_due():
            self._check_documents(text)
            return
        self._send_now(text)

    def _offer_due(self) -> bool:
        c = self.conversations
        return (
            not c.collections
            and bool(c.available)
            and not c.plain_chosen
            and self.composer.editing_message_id is None
        )

    def _check_documents(self, text: str) -> None:
        """Search each collection for ``text`` off the GUI thread; offer the best one, if any
        answers, then send. The text stays in the composer meanwhile, read-only (what is sent
        is what was there at Send; a chat switched to keeps it as that chat's draft); Stop while
        it checks sends nothing. Documents chosen meanwhile (Documents ▾) are not asked about
        again: the question goes to them."""
        core, names, view = self.core, self.conversations.available, self.conversations.view
        handle = TaskHandle("check-documents")
        self.handle = handle
        self.composer.set_generating(True)
        self.composer.input.setReadOnly(True)  # (set_generating(False) makes it editable again)
        message.info("Checking your documents…", 0)

        def checked(name: str | None) -> None:
            self.handle = None
            self.composer.set_generating(False)
            message.clear()
            if handle.cancelled or view != self.conversations.view:
                return
            if name is None or not self._offer_due():
                self._send_now(text)
                return

            def use() -> None:
                if self._offer_due():  # (unless chosen meanwhile)
                    self.conversations.set_collections((name,))
                self._send_now(text)

            def decline() -> None:
                if self._offer_due():
                    self.conversations.keep_plain()
                self._send_now(text)

            message.ask(
                message.Question(
                    name="OfferDocuments",
                    title="Use your documents?",
                    text=f"Your documents in “{name}” may answer this — use them?",
                    detail="This chat answers without documents now. You can change it any "
                    "time under Documents ▾ at the top.",
                    yes="Use them",
                    on_yes=use,
                    no="Answer without",
                    on_no=decline,
                )
            )

        def failed(error: BaseException) -> None:
            log.warning("could not check the documents for the question: %s", error)
            checked(None)

        self.tasks.run_background(
            "check-documents",
            lambda _report: core.suggest_collection(text, names),
            on_done=checked,
            on_error=failed,
        )

    def _send_now(self, text: str) -> None:
        if self.handle is not None or self.composer.blocked_reason is not None:
            return  # nothing is lost: the text is still in the composer
        editing = self.composer.editing_message_id
        tools = self._tool_arguments()
        self.composer.take_text()
        self.composer.finish_edit()
        if editing is not None:
            edited = next((b for b in self.chat.bubbles if b.data.message_id == editing), None)
            if edited is not None:
                self.chat.remove_from(edited)

            def stream(chat_id: int, token: CancelToken) -> Iterator[object]:
                return self.core.assistant.edit_and_resend(editing, text, cancel=token, **tools)
        else:

            def stream(chat_id: int, token: CancelToken) -> Iterator[object]:
                return self.core.assistant.send(chat_id, text, cancel=token, **tools)

        self._user_bubble = self.chat.add_bubble(BubbleData(role="user", text=text))
        self._run(stream)

    def regenerate(self) -> None:
        if self.handle is not None or self.conversations.conversation_id is None:
            return
        if self.versions.switching:
            return
        if self.composer.blocked_reason is not None:
            return
        last_answer = next(
            (b for b in reversed(self.chat.bubbles) if b.data.role == "assistant"), None
        )
        if last_answer is not None:
            self.chat.remove_from(last_answer)
        self._user_bubble = None
        tools = self._tool_arguments()
        self._run(
            lambda chat_id, token: self.core.assistant.regenerate(chat_id, cancel=token, **tools)
        )

    def _tool_arguments(self) -> dict[str, Any]:
        """What the assistant is given for the open chat's tools (nothing when it has none)."""
        names = self.chosen_tools()
        return {"tools": names, "approve": self.approver} if names else {}

    def _cancel_step(self, step_id: int) -> None:
        """Cancel on a step: a running one stops and the answer goes on (the model is told);
        one not running (yet) stops the answer (a step waiting for approval shows no Cancel:
        its card's Deny answers it)."""
        if not self.approver.step_cancels.cancel(step_id):
            self.stop()

    def _ask(self, pending: PendingApproval) -> None:
        """A tool waits for the person: its card at the end of the answer, focused."""
        bubble = self._streaming_bubble() if self.handle is not None else None
        if bubble is None:  # the answer ended or another chat shows: nobody can answer
            pending.decide("cancelled")
            return
        card = ApprovalCard(pending, bubble.card)
        card.decided.connect(lambda _decision, c=card: self._drop_card(c))
        self._cards.append(card)
        bubble.show_card(card)
        card.allow_once.setFocus()
        self.chat.ensureWidgetVisible(card)
        accessibility.post_announcement(card, card.title.text(), assertive=True)

    def _drop_card(self, card: ApprovalCard) -> None:
        if card in self._cards:
            self._cards.remove(card)
        card.setParent(None)  # type: ignore[call-overload]
        card.deleteLater()

    def _run(self, stream: Stream) -> None:
        # The answer's bubble comes a moment later (or with the first event, if sooner), so
        # the window lays out and paints the question's bubble and the answer's in two turns of
        # the event loop: in one, that was a Send's longest stall on a busy machine.
        self._stream_bubble = None
        self._bubble_due = True
        QTimer.singleShot(ANSWER_BUBBLE_DELAY_MS, self, self._streaming_bubble)
        self.composer.set_generating(True)
        core = self.core
        chat_id = self.conversations.conversation_id
        collections = self.conversations.collections
        unsaved = self.conversations.choice_to_write()
        handle = TaskHandle("generate")  # before submitting: the job reads it
        self._view = self.conversations.view

        def job(report: Callable[[object], None]) -> object:
            from ember.assistant import ReplyDone

            store = core.store
            if chat_id is None:
                chat = store.create(collections=collections)
                report(ChatCreated(chat))
                conversation_id = chat.id
            else:
                conversation_id = chat_id
                # What the window showed at Send answers, even if the chats worker has not yet
                # saved a toggle made just before it; otherwise the store's choice stands (a
                # collection renamed or removed since Send is not written back).
                if unsaved is not None and not unsaved.is_set():
                    store.set_collections(conversation_id, collections)
                    unsaved.set()
            if core.loaded is None:  # loads on first use (cold: many seconds)
                report(Stage(LOADING_MODEL))
                core.engine()
            if collections:
                report(Stage(SEARCHING))
                core.ensure_retriever()
            done = None
            for event in stream(conversation_id, handle.cancel_token):
                if isinstance(event, ReplyDone):
                    done = event
                report(event)
            return done

        self.tasks.run_on(
            self.tasks.engine,
            "generate",
            job,
            # Looked up per event (not bound now): tests wrap it to watch the tokens arrive.
            on_event=lambda event: self._on_stream_event(event),
            on_done=self._on_stream_done,
            on_error=self._on_stream_error,
            handle=handle,
        )
        self.handle = handle

    def switched(self) -> None:
        """Another chat is about to show: stop the answer, and forget its bubbles (the chat
        view deletes them); the answer's end still arrives and resets the composer."""
        self.stop()
        for card in self._cards:  # deleted with their bubble
            card.pending.decide("cancelled")
        self._cards.clear()
        self._stream_bubble = None
        self._user_bubble = None
        self._bubble_due = False

    def _streaming_bubble(self) -> MessageBubble | None:
        """The answer's bubble, built when first needed while an answer is due (and only in
        the chat view it was sent from)."""
        if (
            self._stream_bubble is None
            and self._bubble_due
            and self._view == self.conversations.view
        ):
            self._bubble_due = False
            loaded = self.core.loaded
            self._stream_bubble = self.chat.start_streaming(
                BubbleData(role="assistant", model=loaded.name if loaded else "", state="streaming")
            )
            if loaded is None:  # the model loads before the answer (cold: many seconds)
                self._stream_bubble.set_placeholder(LOADING_MODEL)
        return self._stream_bubble

    def _on_stream_event(self, event: Any) -> None:
        # Imported here, not at the top: the window paints before the core's modules load.
        from ember.assistant import ReplyDone, ReplyStarted, StepChanged
        from ember.engines.base import Thinking, Token

        if isinstance(event, ChatCreated):  # even when the person has moved on: it is listed
            self.conversations.created(event.conversation, self._view)
            return
        bubble = self._streaming_bubble()
        if bubble is None:
            return
        if isinstance(event, Token):
            bubble.append(event.text)  # shown at the chat view's next frame, not per token
        elif isinstance(event, Thinking):
            bubble.append_thinking(event.text)  # in its own block, never in the answer
        elif isinstance(event, StepChanged):
            bubble.set_step(event.step)
        elif isinstance(event, Stage):
            bubble.set_placeholder(event.text)
        elif isinstance(event, ReplyStarted):
            bubble.set_placeholder("…")
            if self._user_bubble is not None:
                self._user_bubble.data.message_id = event.user_message.id
                self._user_bubble.set_versions(event.user_message.versions)  # an edit: 2/2
            bubble.data.message_id = event.reply_id
            bubble.set_versions(event.reply_versions)  # ‹ 2/2 › even if it then fails
            if event.citations:
                bubble.set_citations(event.citations)
            if event.stale:
                bubble.set_stale(tuple(event.stale))
            self.conversations.refresh()
        elif isinstance(event, ReplyDone):
            bubble.finish(BubbleData.from_message(event.message))
            loaded = self.core.loaded
            if loaded is not None and loaded.builtin and not self.small_model_noted:
                self.small_model_noted = True
                add_small_model_notice(bubble, self.betterModelRequested.emit)

    def _finish(self) -> None:
        for card in list(self._cards):  # a question left open: the answer stopped
            card.pending.decide("cancelled")
            self._drop_card(card)
        if self._stream_bubble is not None:  # screen readers hear it ended: once, not per token
            accessibility.announce_ended(self._stream_bubble)
        self.handle = None
        self._bubble_due = False
        self._stream_bubble = None
        self._user_bubble = None
        self.chat.stop_streaming()
        self.composer.set_generating(False)
        self.conversations.refresh()

    def _on_stream_done(self, _result: object) -> None:
        self._finish()

    def _on_stream_error(self, error: BaseException) -> None:
        try:
            bubble = self._streaming_bubble()
            if isinstance(error, GenerationCancelled):
                if bubble is not None:
                    bubble.data.state = "cancelled"
                    bubble.finish(bubble.data)
            elif bubble is not None:
                message = (
                    str(error) if isinstance(error, EmberError) else f"Unexpected error: {error!r}"
                )
                if not isinstance(error, EmberError):
                    log.error("generation failed", exc_info=error)
                bubble.fail(message)
        finally:
            self._finish()  # whatever happened to the bubble, Send works again

    def stop(self) -> None:
        """Stop the answer being written (the Stop button; Esc without a card, see
        :meth:`escape`); the text so far is kept."""
        if self.handle is not None:
            self.handle.cancel()

    def escape(self) -> None:
        """Esc: an approval card waiting for an answer is denied (the tool does not run, the
        answer goes on, as Esc in a dialog); otherwise the answer stops."""
        card = next((c for c in reversed(self._cards) if c.open), None)
        if card is not None:
            card.choose("deny")
        else:
            self.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Esc in the message box while a card waits: that card's Deny (the box's own Esc
        would stop the answer); every other key is the box's."""
        if (
            watched is self.composer.input
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Escape  # type: ignore[attr-defined]
            and any(c.open for c in self._cards)
        ):
            self.escape()
            return True
        return super().eventFilter(watched, event)

    def start_edit(self, data: BubbleData) -> None:
        if self.handle is not None or data.message_id is None:
            return
        self.composer.start_edit(data.message_id, data.text)

    def suggestion(self, text: str) -> None:
        self.composer.input.setPlainText(text)
        self.composer.input.setFocus()

"""The documents page's controller: reads and writes on the knowledge worker, one at a time.

Every read and write runs on the task manager's serial ``knowledge`` worker, so a change never
overlaps an indexing run this window started; and while one is active (in the helper process,
holding the writer's lock) the page's writing actions are off, saying why. Re-indexing goes
through the documents controller, which shows its progress like any other run; so do re-index
runs asked for by a watched folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import EmberError
from ember.files import shown_path
from ember.ui import localdocs_import, message
from ember.ui.documents_page import DocumentsPage, PageData, RenameDialog, open_folder_of
from ember.ui.fit_screen import show_in_front
from ember.ui.folder_watch import FolderWatcher
from ember.ui.qt import QObject, Qt, QWidget

if TYPE_CHECKING:
    from ember.core import Core
    from ember.ui.conversations import Conversations
    from ember.ui.documents import Documents
    from ember.ui.tasks import TaskManager


class DocumentsAdmin(QObject):
    """Opens the documents page, fills it, carries out what it asks; owns the folder watches."""

    def __init__(
        self,
        core: Core,
        tasks: TaskManager,
        documents: Documents,
        conversations: Conversations,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.documents = documents
        self.conversations = conversations
        self.window = parent
        self.page: DocumentsPage | None = None
        self.collection = ""  # the collection the page shows
        self.loads = 0  # page reads and writes queued, not yet answered (tests wait on it)
        self.watcher = FolderWatcher(self)
        self.watcher.changed.connect(lambda name, paths: documents.index_when_free(paths, name))
        self._watches_read = False
        self._paused: dict[str, tuple[str, ...]] = {}  # watches stopped while their collection
        # is removed or renamed: by collection name, its folders
        documents.pageRequested.connect(self.open)
        documents.listed.connect(self._listed)
        documents.busyChanged.connect(lambda _busy: self._show_busy())

    # -- the page ------------------------------------------------------------------------------

    def open(self, collection: str = "") -> DocumentsPage:
        """Show the page (at ``collection``, else where it was or the first one)."""
        if self.page is None:
            page = DocumentsPage(self.window)
            page.collectionChosen.connect(self.show_collection)
            page.removeFileRequested.connect(self.remove_file)
            page.reindexFileRequested.connect(self.reindex_file)
            page.openFolderRequested.connect(self.open_folder)
            page.removeCollectionRequested.connect(self.remove_collection)
            page.renameRequested.connect(self.rename)
            page.reindexAllRequested.connect(self.reindex_all)
            page.watchToggled.connect(self.watch)
            page.importGpt4allRequested.connect(self.import_gpt4all)
            self.page = page
        if collection:
            self.collection = collection
        self._show_busy()
        show_in_front(self.page)
        self.refresh()
        return self.page

    def show_collection(self, name: str) -> None:
        self.collection = name
        self.refresh()

    def refresh(self) -> None:
        """Read the shown collection's documents again (when the page is open). An indexing run
        holds the knowledge worker until it ends: the page then keeps what it shows and says
        when it updates (the run's end lists the collections, which reads it again)."""
        if self.page is None or not self.page.isVisible():
            return
        if self.documents.indexing is not None:
            self.page.show_waiting(self.documents.indexing_collection or "")
            return
        core, wanted = self.core, self.collection

        def load(_report: object) -> PageData:
            names = tuple(c.name for c in core.collections())
            name = wanted if wanted in names else (names[0] if names else "")
            rows = tuple(core.document_rows(name)) if name else ()
            watched = core.watched_folders().get(name, ()) if name else ()
            return PageData(names, name, rows, watched)

        self._run("documents-page", load, self._loaded, "Could not list the documents")

    def _loaded(self, data: PageData) -> None:
        self.collection = data.collection
        if self.page is not None:
            self.page.show_data(data)
            self._show_busy()

    def _listed(self) -> None:
        """The collections were listed (at start, after indexing): start the watches once,
        and show what changed."""
        if not self._watches_read:
            self._watches_read = True
            self._run(
                "watched-folders",
                lambda _r: self.core.watched_folders(),
                self._watches,
                "Could not read which folders are watched",
            )
        self.refresh()

    def _watches(self, watched: dict[str, tuple[str, ...]]) -> None:
        self.watcher.set_watched(watched)

    def _show_busy(self) -> None:
        if self.page is None:
            return
        name = self.documents.indexing_collection
        reason = ""
        if self.documents.indexing is not None:
            reason = (
                f"Ember is indexing “{name}”: changes to documents wait until it finishes "
                "(or is cancelled)."
            )
        self.page.set_busy(reason)

    # -- actions -------------------------------------------------------------------------------

    def remove_file(self, path: str) -> None:
        """Ask, then forget one file of the shown collection (a watched one is watched no more)."""
        collection = self.collection
        core = self.core

        def remove(_report: object) -> dict[str, tuple[str, ...]]:
            core.remove_document(Path(path), collection)
            return core.watched_folders()  # without it, if it was watched

        def removed(watched: dict[str, tuple[str, ...]]) -> None:
            self.watcher.set_watched(watched)
            message.info(f"Removed {Path(path).name} from “{collection}”.")

        message.ask(
            message.Question(
                name="ConfirmRemoveFile",
                title="Remove file?",
                text=f"Forget {Path(path).name} in “{collection}”? The file itself stays.",
                detail=shown_path(path),
                on_yes=lambda: self._write(
                    "remove-document",
                    remove,
                    removed,
                    f"Could not remove {Path(path).name}",
                ),
            )
        )

    def remove_collection(self) -> None:
        """Ask, then delete the shown collection with its documents (the files stay)."""
        name = self.collection

        def removed(_found: object) -> None:
            self.conversations.collection_removed(name)  # every chat, not as a choice
            self._paused.pop(name, None)  # its watch was stopped before the removal was queued
            self.watcher.set_watched({k: v for k, v in self.watcher.watched.items() if k != name})
            self.collection = ""
            self.documents.collection_removed(name)  # the last run's summary goes with it
            message.info(f"Removed the collection “{name}”.")

        message.ask(
            message.Question(
                name="ConfirmRemoveCollection",
                title="Remove collection?",
                text=f"Remove the collection “{name}” and everything indexed in it? "
                "Your files themselves stay where they are.",
                on_yes=lambda: self._write(
                    "delete-collection",
                    lambda _r: self.core.delete_collection(name),
                    removed,
                    f"Could not remove “{name}”",
                    changing=name,
                ),
            )
        )

    def rename(self) -> RenameDialog | None:
        """Ask for a new name (checked as it is typed), then rename; chats follow."""
        if self.page is None or self.page.data is None:
            return None
        old = self.collection
        dialog = RenameDialog(old, self.page.data.names, self.page)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.rename_to(old, dialog.name()))
        dialog.open()
        return dialog

    def rename_to(self, old: str, new: str) -> None:
        def renamed(_none: object) -> None:
            self.conversations.collection_renamed(old, new)  # every chat, not as a choice
            folders = self._paused.pop(old, ())  # stopped before the rename was queued
            if folders:
                self.watcher.set_watched({**self.watcher.watched, new: folders})
            self.collection = new
            self.documents.collection_renamed(old, new)  # the last run's summary follows
            message.info(f"Renamed “{old}” to “{new}”.")

        self._write(
            "rename-collection",
            lambda _r: self.core.rename_collection(old, new),
            renamed,
            f"Could not rename “{old}”",
            changing=old,
        )

    def reindex_file(self, path: str) -> None:
        if self._blocked():
            return
        self.documents.index([Path(path)], self.collection, again=True)
        self._show_busy()

    def reindex_all(self) -> None:
        if self._blocked():
            return
        self.documents.index([], self.collection, again=True)
        self._show_busy()

    def import_gpt4all(self, db: Path | None = None) -> None:
        """Collections from GPT4All's LocalDocs (``db``: its database; default: GPT4All's own,
        else one the person picks), then offer to index them (:mod:`.localdocs_import`)."""
        db = db or localdocs_import.database(self.page or self.window)
        if db is not None:
            core, found = self.core, db
            self._write(
                "import-gpt4all",
                lambda _r: localdocs_import.run(core, found),
                lambda made: localdocs_import.offer_index(
                    made, self.show_collection, self.documents.index
                ),
                "Could not import GPT4All's LocalDocs",
            )

    def open_folder(self, path: str) -> None:
        problem = open_folder_of(path)
        if problem:
            message.error("Open folder", problem)

    def watch(self, on: bool) -> None:
        """Start or stop re-indexing the shown collection when its folders change."""
        name = self.collection

        def done(folders: tuple[str, ...]) -> None:
            watched = {k: v for k, v in self.watcher.watched.items() if k != name}
            if folders:
                watched[name] = folders
                message.info(f"Watching the files and folders added to “{name}” for changes.")
            elif on:
                message.warning("Watch folders", f"“{name}” has no files or folders to watch yet.")
            self.watcher.set_watched(watched)

        self._write(
            "watch-folders",
            lambda _r: self.core.watch_folders(name, on),
            done,
            f"Could not change the watch on “{name}”",
        )

    def stop(self) -> None:
        """The window closes: stop watching."""
        self.watcher.stop_all()

    # -- running -------------------------------------------------------------------------------

    def _blocked(self) -> bool:
        if self.documents.indexing is None:
            return False
        message.error(
            "Documents", "Ember is still indexing; wait for it to finish or cancel it first."
        )
        return True

    def _write(
        self,
        name: str,
        job: Callable[[object], Any],
        on_done: Callable[[Any], None],
        failure: str,
        changing: str = "",
    ) -> None:
        """A change: never during an indexing run; afterwards the page and sidebar refresh.
        ``changing``: the collection it removes or renames, whose watch stops before the change
        is queued (and no run for it starts meanwhile), so that a watch's run neither brings
        it back nor indexes it under its old name; if the change fails, the watch resumes."""
        if self._blocked():
            return
        if changing:
            watched = self.watcher.watched
            if changing in watched:
                self._paused[changing] = watched.pop(changing)
                self.watcher.set_watched(watched)
            self.documents.collection_changing(changing)

        def done(result: object) -> None:
            on_done(result)
            self.documents.refresh()  # the sidebar's counts; the page follows when listed

        def failed() -> None:
            folders = self._paused.pop(changing, ())
            if folders:
                self.watcher.set_watched({**self.watcher.watched, changing: folders})
            self.documents.collection_unchanged(changing)

        self._run(name, job, done, failure, on_failed=failed if changing else None)

    def _run(
        self,
        name: str,
        job: Callable[[object], Any],
        on_done: Callable[[Any], None],
        failure: str = "",
        on_failed: Callable[[], None] | None = None,
    ) -> None:
        self.loads += 1

        def done(result: object) -> None:
            self.loads -= 1
            on_done(result)

        def failed(error: BaseException) -> None:
            self.loads -= 1
            if on_failed is not None:
                on_failed()
            text = str(error) if isinstance(error, EmberError) else repr(error)
            message.error("Documents", f"{failure or 'Something went wrong'}: {text}")

        self.tasks.run_on(self.tasks.knowledge, name, job, on_done=done, on_error=failed)

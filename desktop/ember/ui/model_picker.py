"""The model picker and everything about the model: loading, switching, GGUFs, Ollama pulls,
settings, and the status bar's model label and OFFLINE/REMOTE pill."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ember.core import Core, LoadedModel, ModelChoice, PullProgress
from ember.errors import EmberError, GenerationCancelled
from ember.ui import message
from ember.ui.qt import (
    QComboBox,
    QFileDialog,
    QInputDialog,
    QObject,
    QPaintEvent,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    Qt,
    QWidget,
    Signal,
)
from ember.ui.statusbar import StatusWidgets, show_where
from ember.ui.tasks import TaskHandle, TaskManager

if TYPE_CHECKING:
    from ember.ui.models_admin import ModelsAdmin
    from ember.ui.models_page import ModelsPage

ADD_GGUF = "__add_gguf__"
PULL_OLLAMA = "__pull_ollama__"
OPEN_MODELS = "__models_page__"
PICKER_MIN_CHARS = 12


class ModelPicker(QComboBox):
    """The header's model picker: as wide as its longest model name when there is room (the
    names fill in after the first paint, so it adjusts to every change); down to
    :data:`PICKER_MIN_CHARS` characters, shortened with "…", when there is not. Its tooltip names
    the chosen model in full."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setMinimumContentsLength(PICKER_MIN_CHARS)  # the minimum width, not the wanted one
        self.currentIndexChanged.connect(self.name_in_tooltip)
        self.name_in_tooltip()

    def name_in_tooltip(self, _index: int = -1) -> None:
        """Name the chosen model in the tooltip (call after filling with signals blocked)."""
        name = self.currentText()
        self.setToolTip(f"The model that answers: {name}" if name else "The model that answers")

    def shown_text(self) -> str:
        """The chosen model's name as painted: whole, or shortened with "…" to fit."""
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        return self.fontMetrics().elidedText(
            option.currentText, Qt.TextElideMode.ElideRight, field.width()
        )

    def paintEvent(self, _event: QPaintEvent) -> None:
        """QComboBox's own painting, with the name elided rather than cut off mid-letter."""
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.shown_text()
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


@dataclass(frozen=True, slots=True)
class ModelWidgets:
    """The widgets the models controller drives (built by the window)."""

    parent: QWidget  # dialogs open over it
    picker: ModelPicker
    status: StatusWidgets  # its model label, pill and pull progress


class Models(QObject):
    """Owns the loaded model's state, the picker's entries and the pull in progress."""

    blocked = Signal(object)  # why the model keeps the composer blocked (str), or None
    settingsSaved = Signal(object)  # the Settings just saved (the window applies the theme)

    def __init__(
        self, core: Core, tasks: TaskManager, widgets: ModelWidgets, parent: QObject
    ) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.w = widgets
        self.loading = False
        self.ollama_choices: list[ModelChoice] = []
        self.pulling: TaskHandle | None = None
        self._hub: ModelsAdmin | None = None  # the Models page's controller, made on first use
        self.w.picker.activated.connect(self._picked)
        self.w.status.pull_cancel.clicked.connect(self.cancel_pull)

    # -- the picker ----------------------------------------------------------------------------

    def read_settings(self) -> None:
        """Read the settings file; a damaged one is named, left as it is, and Ember runs on its
        defaults until the person saves the settings again."""
        from ember.errors import ConfigError

        try:
            self.core.settings  # noqa: B018  (read on first use)
        except ConfigError as exc:
            from ember.config import Settings

            self.core.settings = Settings()
            message.error(
                "Your settings could not be read",
                f"{exc} Ember uses its default settings until you save them again.",
            )

    def fill_picker(self) -> None:
        picker = self.w.picker
        picker.blockSignals(True)
        picker.clear()
        current = self.core.settings.model
        choices = self.core.local_models() + self.ollama_choices
        if not any(c.key == current for c in choices):
            choices.append(ModelChoice(current, self.core.model_label(current), "llama.cpp"))
        for choice in choices:
            picker.addItem(choice.label, choice.key)
            picker.setItemData(
                picker.count() - 1,
                f"{choice.backend} {choice.detail}".strip(),
                Qt.ItemDataRole.ToolTipRole,
            )
        picker.insertSeparator(picker.count())
        picker.addItem("Add a GGUF file…", ADD_GGUF)
        picker.addItem("Pull from Ollama…", PULL_OLLAMA)
        picker.addItem("Find and download models…", OPEN_MODELS)
        picker.setCurrentIndex(max(0, picker.findData(current)))
        picker.blockSignals(False)
        picker.name_in_tooltip()

    def _picked(self, index: int) -> None:
        key = self.w.picker.itemData(index)
        if key == ADD_GGUF:
            self.fill_picker()
            path, _ = QFileDialog.getOpenFileName(
                self.w.parent, "Add a model", str(Path.home()), "GGUF models (*.gguf)"
            )
            if path:
                self.add_gguf(Path(path))
            return
        if key == PULL_OLLAMA:
            self.fill_picker()
            self.pull_dialog()
            return
        if key == OPEN_MODELS:
            self.fill_picker()
            self.open_hub()
            return
        if key == self.core.settings.model and self.core.loaded is not None:
            return
        self.switch_model(str(key))

    def switch_model(self, key: str) -> None:
        try:
            self.core.choose_model(key)
        except EmberError as exc:
            message.error("Cannot use this model", str(exc))
            return
        self.fill_picker()
        self.load_model()

    # -- the Models page ------------------------------------------------------------------------

    @property
    def hub(self) -> ModelsAdmin:
        """The Models page's controller (hub search, downloads, models on disk)."""
        if self._hub is None:
            from ember.ui.models_admin import ModelsAdmin

            self._hub = ModelsAdmin(
                self.core, self.tasks, self.switch_model, self.fill_picker, self.w.parent
            )
        return self._hub

    def open_hub(self) -> ModelsPage:
        """Show the Models page."""
        return self.hub.open()

    # -- loading -------------------------------------------------------------------------------

    def load_model(self) -> None:
        """Load the configured model on the engine worker; the composer waits with a reason."""
        key = self.core.settings.model
        label = self.core.model_label(key)
        self.loading = True
        self.blocked.emit(f"Loading {label}… you can type, sending waits for it.")
        self.w.status.model_label.setText(f"Loading {label}…")
        self.tasks.run_on(
            self.tasks.engine,
            "load-model",
            lambda _report: self.core.load_engine(key),
            on_done=self._loaded,
            on_error=self._failed,
        )

    def _loaded(self, loaded: LoadedModel) -> None:
        self.loading = False
        self.blocked.emit(None)
        self.w.status.model_label.setText(f"{loaded.name}  ·  {loaded.backend}")
        show_where(self.w.status.offline_pill, loaded)
        self.w.status.offline_pill.show()
        if loaded.notes:  # a lowered context, a GPU load that fell back to the CPU
            message.info(" ".join(loaded.notes), 15000)

    def _failed(self, error: BaseException) -> None:
        self.loading = False
        text = str(error) if isinstance(error, EmberError) else repr(error)
        self.w.status.model_label.setText("No model loaded")
        self.w.status.offline_pill.hide()  # it described the engine that is now closed
        self.blocked.emit(f"No model loaded: {text} Pick another model above.")
        message.error("The model could not be loaded", text)

    def add_gguf(self, path: Path) -> None:
        """Check a GGUF's header (in the background), add it, and switch to it."""
        message.info(f"Checking {path.name}…", 0)
        self.tasks.run_background(
            "add-gguf",
            lambda _report: self.core.add_gguf(path),
            on_done=self._gguf_added,
            on_error=lambda exc: self._gguf_failed(path, exc),
        )

    def _gguf_added(self, choice: ModelChoice) -> None:
        message.info(f"Added {choice.label}.")
        self.switch_model(choice.key)

    def _gguf_failed(self, path: Path, error: BaseException) -> None:
        message.clear()
        text = str(error) if isinstance(error, EmberError) else repr(error)
        message.error("This model cannot be used", f"{path.name}: {text}")

    # -- settings ------------------------------------------------------------------------------

    def open_settings(self) -> QWidget:
        from ember.ui.dialogs import SettingsDialog

        dialog = SettingsDialog(self.core.settings, self.w.parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.result_settings))
        dialog.open()
        return dialog

    def apply_settings(self, settings: object) -> None:
        if settings is None:
            return
        try:
            reload_model = self.core.apply_settings(settings)  # type: ignore[arg-type]
        except EmberError as exc:
            message.error("Settings not saved", str(exc))
            return
        message.info("Settings saved.")
        self.settingsSaved.emit(settings)
        self.fill_picker()
        if reload_model:
            self.load_model()
            self.refresh_ollama()

    # -- Ollama --------------------------------------------------------------------------------

    def refresh_ollama(self) -> None:
        self.tasks.run_background(
            "list-ollama",
            lambda _report: self.core.ollama_models(),
            on_done=self._ollama_listed,
            on_error=lambda _exc: None,  # no server is normal
        )

    def _ollama_listed(self, choices: list[ModelChoice]) -> None:
        self.ollama_choices = choices
        self.fill_picker()

    def pull_dialog(self) -> None:
        name, ok = QInputDialog.getText(
            self.w.parent, "Pull from Ollama", "Model name (for example llama3.2):"
        )
        if ok and name.strip():
            self.pull(name.strip())

    def _pull_widgets(self, visible: bool) -> None:
        for widget in (self.w.status.pull_label, self.w.status.pull_bar, self.w.status.pull_cancel):
            widget.setVisible(visible)

    def pull(self, name: str) -> TaskHandle | None:
        """Download ``name`` into the Ollama server in the background, with progress and Cancel."""
        if self.pulling is not None:
            message.error("Pull from Ollama", "Ember is already pulling a model; wait or cancel.")
            return None
        core = self.core
        # Made before the job is submitted: the job reads it and may start at once.
        handle = TaskHandle(f"pull {name}")

        def job(report: Callable[[object], None]) -> str:
            for progress in core.pull_ollama(name, handle.cancel_token):
                report(progress)
            if handle.cancelled:
                raise GenerationCancelled(f"Stopped pulling {name}.")
            return name

        self.w.status.pull_label.setText(f"Pulling {name}…")
        self.w.status.pull_bar.setRange(0, 0)
        self._pull_widgets(True)

        def progress(event: object) -> None:
            if isinstance(event, PullProgress) and not handle.cancelled:
                self.w.status.pull_label.setText(f"Pulling {name}: {event.status}")
                if event.total:
                    self.w.status.pull_bar.setRange(0, 1000)
                    self.w.status.pull_bar.setValue(int(1000 * event.completed / event.total))

        def done(_result: object) -> None:
            self.pulling = None
            self._pull_widgets(False)
            message.info(f"Pulled {name}.")
            self.refresh_ollama()

        def failed(error: BaseException) -> None:
            self.pulling = None
            self._pull_widgets(False)
            if isinstance(error, GenerationCancelled):
                message.info(f"Stopped pulling {name}.")
            else:
                text = str(error) if isinstance(error, EmberError) else repr(error)
                message.error("Pull failed", text)

        self.tasks.run_background(
            "pull", job, on_event=progress, on_done=done, on_error=failed, handle=handle
        )
        self.pulling = handle
        return handle

    def cancel_pull(self) -> None:
        if self.pulling is not None:
            self.pulling.cancel()
            self.w.status.pull_label.setText("Stopping the download…")

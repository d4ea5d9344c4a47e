"""The app's dialogs: settings, choosing a collection, a source's snippet, indexing errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ember.config import PROMPT_PRESETS, RemoteEndpoint, Settings
from ember.errors import ConfigError
from ember.ui.accessibility import name_popups
from ember.ui.fit_screen import fit_to_screen, scrolling
from ember.ui.qt import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSize,
    QSpinBox,
    Qt,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from ember.ui.settings_api import ApiSection

if TYPE_CHECKING:
    pass

REMOTE_KINDS = {"openai": "OpenAI-compatible", "ollama": "Ollama"}
WANTED_SIZE = QSize(780, 720)  # the settings dialog at first (cut to the screen): Tools fits


def _is_loopback(url: str) -> bool:
    from ember.engines.http import is_loopback_url

    return is_loopback_url(url)


class RemoteServers(QGroupBox):
    """The user's remote endpoints (OpenAI-compatible or Ollama): list, add, remove.

    Adding one whose host is not this computer shows, before it is saved, that messages sent to
    it leave this computer."""

    def __init__(self, remotes: list[RemoteEndpoint], parent: QWidget | None = None) -> None:
        super().__init__("Remote servers", parent)
        self.remotes = list(remotes)
        layout = QVBoxLayout(self)
        self.list = QListWidget(self)
        self.list.setMaximumHeight(80)
        layout.addWidget(self.list)
        form = QFormLayout()
        self.kind = QComboBox(self)
        for key, label in REMOTE_KINDS.items():
            self.kind.addItem(label, key)
        form.addRow("Kind", self.kind)
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("A short name, e.g. work-server")
        form.addRow("Name", self.name)
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("http://127.0.0.1:8000/v1 or http://host:11434")
        self.url.textChanged.connect(self._url_changed)
        form.addRow("URL", self.url)
        self.model = QLineEdit(self)
        self.model.setPlaceholderText("Model name on that server")
        form.addRow("Model", self.model)
        self.api_key = QLineEdit(self)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("Optional")
        form.addRow("API key", self.api_key)
        layout.addLayout(form)
        self.warning = QLabel("", self)
        self.warning.setObjectName("RemoteWarning")
        self.warning.setWordWrap(True)
        self.warning.hide()
        layout.addWidget(self.warning)
        self.problem = QLabel("", self)
        self.problem.setObjectName("Error")
        self.problem.hide()
        layout.addWidget(self.problem)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add server", self)
        self.add_button.clicked.connect(self.add)
        self.remove_button = QPushButton("Remove selected", self)
        self.remove_button.clicked.connect(self.remove_selected)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)
        self._refresh()

    def _refresh(self) -> None:
        self.list.clear()
        for remote in self.remotes:
            where = "" if _is_loopback(remote.base_url) else "  (leaves this computer)"
            self.list.addItem(
                f"{remote.name}: {remote.model} at {remote.base_url} "
                f"[{REMOTE_KINDS.get(remote.kind, remote.kind)}]{where}"
            )

    def _url_changed(self, text: str) -> None:
        url = text.strip()
        if url and "://" in url and not _is_loopback(url):
            self.warning.setText(
                "This server is not on this computer: everything you send to this model, "
                "including passages from your documents, leaves this computer."
            )
            self.warning.show()
        else:
            self.warning.hide()

    def add(self) -> RemoteEndpoint | None:
        """Add the endpoint the form describes (checked); returns it, or None with a reason."""
        name, url, model = (w.text().strip() for w in (self.name, self.url, self.model))
        problem = ""
        if not name or not url or not model:
            problem = "A remote server needs a name, a URL and a model."
        elif not url.startswith(("http://", "https://")):
            problem = "The URL must start with http:// or https://."
        elif any(r.name == name for r in self.remotes):
            problem = f"There is already a server named {name!r}."
        if problem:
            self.problem.setText(problem)
            self.problem.show()
            return None
        self.problem.hide()
        remote = RemoteEndpoint(
            name=name,
            kind=str(self.kind.currentData()),
            base_url=url,
            model=model,
            api_key=self.api_key.text().strip(),
        )
        self.remotes.append(remote)
        for widget in (self.name, self.url, self.model, self.api_key):
            widget.clear()
        self._refresh()
        return remote

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.remotes):
            del self.remotes[row]
            self._refresh()


class SettingsDialog(QDialog):
    """Every setting a person may change; validated before it is accepted."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SettingsDialog")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self.setSizeGripEnabled(True)  # (resizable; it opens at WANTED_SIZE, within the screen)
        self._base = settings
        layout = QVBoxLayout(self)
        # Two tabs keep the dialog within a laptop screen's height.
        self.tabs = tabs = QTabWidget(self)
        tabs.setDocumentMode(True)
        tabs.tabBar().setUsesScrollButtons(False)  # every tab shows whole, at any font size
        general = QWidget(tabs)
        general_layout = QVBoxLayout(general)
        servers = QWidget(tabs)
        servers_layout = QVBoxLayout(servers)
        # Each page scrolls when it is taller than the screen allows (a large system font).
        tabs.addTab(scrolling(general, tabs), "Assistant")
        tabs.addTab(scrolling(servers, tabs), "Hardware and servers")
        tabs.addTab(scrolling(self._appearance(settings, tabs), tabs), "Appearance")
        # The window's API controller shows and rotates the key (none: a dialog on its own).
        self.api_section = ApiSection(settings, getattr(parent, "api", None), tabs)
        tabs.addTab(scrolling(self.api_section, tabs), "Local API")
        from ember.ui.settings_tools import ToolsSection  # (the window's ChatTools: its core)

        self.tools_section = ToolsSection(settings, getattr(parent, "chat_tools", None), tabs)
        self.tools_page = scrolling(self.tools_section, tabs)
        tabs.addTab(self.tools_page, "Tools")
        layout.addWidget(tabs)

        prompt_box = QGroupBox("Assistant", self)
        prompt_form = QFormLayout(prompt_box)
        self.preset = QComboBox(prompt_box)
        self.preset.addItem("Custom")
        self.preset.addItems(list(PROMPT_PRESETS))
        self.preset.currentTextChanged.connect(self._preset_chosen)
        prompt_form.addRow("Preset", self.preset)
        self.system_prompt = QPlainTextEdit(prompt_box)
        self.system_prompt.setPlainText(settings.system_prompt)
        self.system_prompt.setFixedHeight(90)
        self.system_prompt.textChanged.connect(self._prompt_edited)
        prompt_form.addRow("System prompt", self.system_prompt)
        general_layout.addWidget(prompt_box)

        gen_box = QGroupBox("Generation", self)
        gen = QFormLayout(gen_box)
        self.temperature = QDoubleSpinBox(gen_box)
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setValue(settings.temperature)
        gen.addRow("Temperature", self.temperature)
        self.top_p = QDoubleSpinBox(gen_box)
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(settings.top_p)
        gen.addRow("Top-p", self.top_p)
        self.repeat_penalty = QDoubleSpinBox(gen_box)
        self.repeat_penalty.setRange(1.0, 2.0)
        self.repeat_penalty.setSingleStep(0.05)
        self.repeat_penalty.setSpecialValueText("Off")
        self.repeat_penalty.setValue(settings.repeat_penalty)
        gen.addRow("Repeat penalty", self.repeat_penalty)
        self.max_tokens = QSpinBox(gen_box)
        self.max_tokens.setRange(1, 32768)
        self.max_tokens.setValue(settings.max_tokens)
        gen.addRow("Max answer tokens", self.max_tokens)
        self.n_ctx = QSpinBox(gen_box)
        self.n_ctx.setRange(256, 1_048_576)
        self.n_ctx.setSingleStep(512)
        self.n_ctx.setValue(settings.n_ctx)
        gen.addRow("Context size", self.n_ctx)
        general_layout.addWidget(gen_box)
        general_layout.addStretch(1)

        hw_box = QGroupBox("Hardware and servers", self)
        hw = QFormLayout(hw_box)
        self.threads = QSpinBox(hw_box)
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("Automatic")
        self.threads.setValue(settings.threads)
        hw.addRow("CPU threads", self.threads)
        self.gpu_layers = QSpinBox(hw_box)
        self.gpu_layers.setRange(-2, 999)  # -2 = "auto", -1 = all
        self.gpu_layers.setSpecialValueText("Automatic")
        self.gpu_layers.setToolTip("Automatic: as many as the GPU's memory holds; -1: all")
        self.gpu_layers.setValue(-2 if settings.gpu_layers == "auto" else settings.gpu_layers)
        hw.addRow("GPU layers", self.gpu_layers)
        self.ollama_host = QLineEdit(settings.ollama_host, hw_box)
        hw.addRow("Ollama host", self.ollama_host)
        data_row = QHBoxLayout()
        self.data_dir = QLineEdit(settings.data_dir, hw_box)
        self.data_dir.setPlaceholderText("Default location")
        browse = QPushButton("Choose…", hw_box)
        browse.clicked.connect(self._choose_data_dir)
        data_row.addWidget(self.data_dir, 1)
        data_row.addWidget(browse)
        hw.addRow("Data folder", data_row)
        note = QLabel("A new data folder is used from the next start.", hw_box)
        note.setObjectName("Muted")
        note.setWordWrap(True)
        hw.addRow("", note)
        servers_layout.addWidget(hw_box)

        self.remote_servers = RemoteServers(settings.remotes, self)
        servers_layout.addWidget(self.remote_servers)
        servers_layout.addStretch(1)

        self.error = QLabel("", self)
        self.error.setObjectName("Error")
        self.error.setStyleSheet("color: #c92a2a;")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.result_settings: Settings | None = None
        self._select_matching_preset()
        name_popups(self)
        fit_to_screen(self, WANTED_SIZE)

    def _appearance(self, settings: Settings, parent: QWidget) -> QWidget:
        """The theme choice (applied when saved) and the keyboard shortcuts list."""
        from ember.ui.shortcuts import show_shortcuts
        from ember.ui.theme import THEME_CHOICES

        page = QWidget(parent)
        form = QFormLayout(page)
        self.theme = QComboBox(page)
        for key, label in THEME_CHOICES.items():
            self.theme.addItem(label, key)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        form.addRow("Theme", self.theme)
        note = QLabel("The EMBER_THEME environment variable, if set, wins at start.", page)
        note.setObjectName("Muted")
        note.setWordWrap(True)
        form.addRow("", note)
        self.shortcuts_button = QPushButton("Keyboard shortcuts…", page)
        self.shortcuts_button.clicked.connect(lambda: show_shortcuts(self))
        form.addRow("Keys", self.shortcuts_button)
        return page

    def _select_matching_preset(self) -> None:
        text = self.system_prompt.toPlainText().strip()
        for name, prompt in PROMPT_PRESETS.items():
            if prompt.strip() == text:
                self.preset.blockSignals(True)
                self.preset.setCurrentText(name)
                self.preset.blockSignals(False)
                return

    def _preset_chosen(self, name: str) -> None:
        if name in PROMPT_PRESETS:
            self.system_prompt.blockSignals(True)
            self.system_prompt.setPlainText(PROMPT_PRESETS[name])
            self.system_prompt.blockSignals(False)

    def _prompt_edited(self) -> None:
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(0)
        self.preset.blockSignals(False)
        self._select_matching_preset()

    def _choose_data_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", self.data_dir.text())
        if folder:
            self.data_dir.setText(folder)

    def settings(self) -> Settings:
        return self._base.model_copy(
            update=dict(
                system_prompt=self.system_prompt.toPlainText().strip(),
                temperature=round(self.temperature.value(), 3),
                top_p=round(self.top_p.value(), 3),
                repeat_penalty=round(self.repeat_penalty.value(), 3),
                max_tokens=self.max_tokens.value(),
                n_ctx=self.n_ctx.value(),
                threads=self.threads.value(),
                gpu_layers="auto" if self.gpu_layers.value() == -2 else self.gpu_layers.value(),
                ollama_host=self.ollama_host.text().strip(),
                remotes=list(self.remote_servers.remotes),
                data_dir=self.data_dir.text().strip(),
                theme=str(self.theme.currentData()),
                **self.api_section.values(),
                **self.tools_section.values(),
            )
        )

    def accept(self) -> None:
        if not self.api_section.confirm(then=self.accept):  # another computer may reach it
            return
        tools = self.tools_section
        if tools.saving:  # a write of mcp.json is on its way (a moment)
            return
        if tools.edited:  # mcp.json not saved yet: saved first (then this again), or its mistake
            if not tools.save_servers(then=self.accept):
                self.tabs.setCurrentWidget(self.tools_page)
            return
        try:
            self.result_settings = self.settings().validate()
        except ConfigError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        super().accept()


EMBEDDER_LANGUAGES = (
    "Search understands English best: the built-in embedding model was trained on English. "
    "Documents in Chinese, Japanese or Korean are found by their words, not by meaning."
)


class CollectionDialog(QDialog):
    """Choose an existing collection for new documents, or name a new one."""

    def __init__(
        self, existing: list[str], suggestion: str, count: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("CollectionDialog")
        self.setWindowTitle("Add documents")
        layout = QVBoxLayout(self)
        what = "1 item" if count == 1 else f"{count} items"
        layout.addWidget(QLabel(f"Add {what} to which collection?", self))
        self.choice = QComboBox(self)
        self.choice.setEditable(True)
        self.choice.addItems(existing)
        self.choice.setCurrentText(suggestion)
        self.choice.lineEdit().setPlaceholderText("Collection name")
        self.choice.setAccessibleName("Collection")
        self.choice.lineEdit().setAccessibleName("Collection name")
        name_popups(self.choice)
        layout.addWidget(self.choice)
        hint = QLabel("Type a new name to create a collection.", self)
        hint.setObjectName("Muted")
        layout.addWidget(hint)
        self.languages = QLabel(EMBEDDER_LANGUAGES, self)
        self.languages.setObjectName("Muted")
        self.languages.setWordWrap(True)
        layout.addWidget(self.languages)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Index")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def collection(self) -> str:
        return " ".join(self.choice.currentText().split())

    def accept(self) -> None:
        if self.collection():
            super().accept()


class IndexReportDialog(QDialog):
    """The files that could not be indexed, and those indexed with a warning, each with a reason
    a person can read."""

    def __init__(
        self,
        collection: str,
        errors: list[tuple[str, str]],
        parent: QWidget | None = None,
        *,
        warnings: list[tuple[str, str]] | None = None,
        skipped: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(parent)
        warnings, skipped = warnings or [], skipped or []
        self.setObjectName("IndexReportDialog")
        self.setWindowTitle(
            f"{collection}: files not indexed"
            if errors or skipped
            else f"{collection}: indexing warnings"
        )
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        self.list = QListWidget(self)
        self.skipped = QListWidget(self)
        self.warnings = QListWidget(self)

        def files(count: int) -> str:
            return f"{count} file{'' if count == 1 else 's'}"

        for title, rows, widget in (
            (f"{files(len(errors))} could not be indexed into “{collection}”:", errors, self.list),
            (f"{files(len(skipped))} skipped:", skipped, self.skipped),
            (f"{files(len(warnings))} indexed with a warning:", warnings, self.warnings),
        ):
            if not rows:
                widget.hide()
                continue
            label = QLabel(title, self)
            label.setTextFormat(Qt.TextFormat.PlainText)
            layout.addWidget(label)
            for path, reason in rows:
                widget.addItem(f"{Path(path).name} — {reason}\n    {path}")
            layout.addWidget(widget)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""An MCP tool's result (``CallToolResult``) as the text the model reads."""

from __future__ import annotations

import json
from typing import Any

from ember.tools.types import ToolOutput


def tool_output(result: Any) -> ToolOutput:
    """A ``CallToolResult`` as text: text parts joined, other parts described in brackets,
    structured content as JSON when there is no text."""
    parts: list[str] = []
    for item in result.content:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind in ("image", "audio"):
            size = len(item.data) * 3 // 4
            parts.append(f"[{kind} ({item.mime_type}, about {size} bytes) not shown]")
        elif kind == "resource_link":
            parts.append(f"[resource link: {item.name} {item.uri}]")
        elif kind == "resource":
            resource = item.resource
            text = getattr(resource, "text", None)
            if text is not None:
                parts.append(text)
            else:
                parts.append(f"[resource {resource.uri} ({resource.mime_type or 'binary'})]")
        else:
            parts.append(f"[{kind or type(item).__name__} content not shown]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    return ToolOutput(text="\n".join(parts), is_error=bool(result.is_error))

"""PARLEY_TOOLS_FILE's checks, a tool's names, and a result's text: the tools layer's pure parts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from mcp.types import CallToolResult, ImageContent, TextContent

from parley.tools import called_name, function_name
from parley.tools.results import cut, result_text
from parley.tools.servers_file import HttpServer, StdioServer, read_tools_file


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "tools.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_a_tools_file_lists_stdio_and_http_servers(tmp_path: Path) -> None:
    servers = read_tools_file(
        write(
            tmp_path,
            [
                {
                    "id": "shop",
                    "transport": "stdio",
                    "command": ["python", "s.py"],
                    "env": {"A": "1"},
                },
                {"id": "web-1", "transport": "http", "url": "http://127.0.0.1:9/mcp"},
            ],
        )
    )
    assert servers == [
        StdioServer(id="shop", transport="stdio", command=["python", "s.py"], env={"A": "1"}),
        HttpServer(id="web-1", transport="http", url="http://127.0.0.1:9/mcp"),
    ]


STDIO = {"transport": "stdio", "command": ["python"]}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[{", "not JSON"),
        ({"id": "a"}, "expected a JSON list of MCP servers"),
        ([{"transport": "stdio", "command": ["x"]}], "server 1: stdio.id: Field required"),
        ([{"id": "a__b", **STDIO}], "server 1 ('a__b'): stdio.id: String should match pattern"),
        ([{"id": "a_", **STDIO}], "server 1 ('a_'): stdio.id: String should match pattern"),
        ([{"id": "x" * 33, **STDIO}], "at most 32 characters"),
        ([{"id": "a", "transport": "ftp"}], "server 1 ('a'): "),
        ([{"id": "a", "transport": "stdio", "command": []}], "stdio.command: List should have"),
        ([{"id": "a", "transport": "stdio", "command": [""]}], "stdio.command.0: String should"),
        ([{"id": "a", **STDIO, "shell": True}], "stdio.shell: Extra inputs are not permitted"),
        ([{"id": "a", "transport": "http", "url": "file:///etc"}], "http.url: String should"),
        (
            [{"id": "a", **STDIO}, {"id": "a", **STDIO}],
            "server ids must be unique; repeated: ['a']",
        ),
        (["shop"], "server 1: "),
    ],
)
def test_a_bad_tools_file_is_refused_naming_the_file_and_entry(
    tmp_path: Path, content: Any, problem: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ValueError, match=re.escape(f"{path}: ")) as refused:
        read_tools_file(path)
    assert problem in str(refused.value)


def test_a_missing_tools_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the tools file"):
        read_tools_file(tmp_path / "nope.json")


def test_function_names_are_safe_and_distinct() -> None:
    assert function_name("shop.query") == "shop__query"
    odd = function_name("shop.run query!")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", odd) and odd.startswith("shop__run_query_")
    assert odd != function_name("shop.run query?")
    long = function_name(f"shop.{'q' * 100}")
    assert len(long) == 64 and long != function_name(f"shop.{'q' * 101}")
    assert called_name("shop.query") == "shop__query"
    assert called_name("made_up") == "made_up"


def test_a_result_is_its_text_blocks_or_its_structured_content() -> None:
    blocks = CallToolResult(
        content=[
            TextContent(type="text", text="first"),
            ImageContent(type="image", data="AAAA", mime_type="image/png"),
        ]
    )
    assert result_text(blocks) == "first\n[image: image/png]"
    structured = CallToolResult(content=[], structured_content={"rows": [[1]]})
    assert result_text(structured) == '{"rows": [[1]]}'


def test_a_long_result_is_cut_with_a_note() -> None:
    assert cut("short", 10) == "short"
    assert (
        cut("x" * 25, 10)
        == "x" * 10 + "\n[Note: the result was cut to its first 10 of 25 characters.]"
    )

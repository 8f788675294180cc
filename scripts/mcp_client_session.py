"""Drives the gateway's MCP endpoint with the official `mcp` client (pip install mcp).

Usage: mcp_client_session.py URL KEY MODE LOCATION CONTACT
MODE: legacy (the 2025-11-25 initialize handshake) or auto (server/discover, then 2026-07-28).
Lists the tools, searches the operations, reads one contact, tries a delete without confirm and
a route the policy denies; prints one JSON object with what it saw (MCPEndpointTests checks it).
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def text(result):
    return "\n".join(part.text for part in result.content if getattr(part, "type", "") == "text")


async def main(url, key, mode, location, contact):
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            tools = await client.list_tools()
            search = await client.call_tool("search_operations", {"query": "contacts", "limit": 5})
            read = await client.call_tool(
                "execute_operation", {"method": "GET", "path": f"/contacts/{contact}", "locationId": location}
            )
            delete = await client.call_tool(
                "execute_operation", {"method": "DELETE", "path": f"/contacts/{contact}", "locationId": location}
            )
            denied = await client.call_tool(
                "execute_operation", {"method": "GET", "path": f"/locations/{location}", "locationId": location}
            )
            print(
                json.dumps(
                    {
                        "protocolVersion": client.protocol_version,
                        "tools": sorted(tool.name for tool in tools.tools),
                        "search": text(search),
                        "read": {"isError": read.is_error, "text": text(read)},
                        "delete": {"isError": delete.is_error, "text": text(delete)},
                        "denied": {"isError": denied.is_error, "text": text(denied)},
                    }
                )
            )


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))

"""Calls HighLevel's contacts API through ghl-gateway with the official Python SDK.

The SDK is pointed at the gateway's proxy listener and given the caller's gateway key as its
private integration token; the gateway swaps in the location's real HighLevel token.

usage: python3 scripts/sdk_contacts_call.py PROXY_URL GATEWAY_KEY LOCATION_ID CONTACT_ID
"""
import asyncio
import sys

from highlevel import HighLevel


async def main(proxy_url: str, key: str, location_id: str, contact_id: str) -> None:
    HighLevel.BASE_URL = proxy_url
    client = HighLevel(private_integration_token=key)
    response = await client.contacts.get_contact(contact_id, {"headers": {"X-Location-Id": location_id}})
    print(response)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))

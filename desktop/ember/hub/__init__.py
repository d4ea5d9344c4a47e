"""Models from a Hugging Face-compatible hub: search, file listings, resumable verified downloads.

Ember stays offline (``import ember`` sets ``HF_HUB_OFFLINE``); this package reaches the hub only
when a person searches or downloads, at the endpoint ``HF_ENDPOINT`` names. No Qt here.
"""

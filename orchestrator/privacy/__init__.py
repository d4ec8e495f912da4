"""Keeping personal data out of the systems that do not need it: keyed hashes, sealed tokens, encrypted Temporal payloads.

`keyed_hash.py`: `HashSecret`, an HMAC-SHA256 under a secret, one purpose per use, for the
identifiers that stand for a customer outside the store (the customer key in workflow ids and
the `CustomerId` search attribute) and for what stays of an erased customer (the suppression
entries of their addresses, orchestrator/store/suppressions.py); without the secret, knowing a
customer id or an address (an e-mail address) does not give its key or find its entry.
`sealing.py`: `Sealer`, deterministic authenticated encryption (AES-SIV) for short values
carried in links (the unsubscribe token).
`payload_codec.py`: `PayloadKeys` and `EncryptionCodec`, the AES-256-GCM Temporal payload
codec every client and worker uses, with key ids so keys rotate.

This package imports nothing of ours, so every layer may use it (docs/architecture.md, the
map). It never reads the environment: the secrets are given to it by orchestrator/host/settings.py.
docs/privacy.md says what is protected where, and how an operator configures and rotates the keys.
"""
